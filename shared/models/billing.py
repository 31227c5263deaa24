"""Billing resources: the seed's Subscription, usage, and the URLs Checkout and the portal return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

SubscriptionStatus = Literal["active", "canceled", "past_due", "trialing", "incomplete"]
SubscriptionPlan = Literal["free", "pro"]

# Stripe statuses that keep Pro: past_due included, because Stripe keeps retrying the payment
# (Smart Retries) and ends the subscription (canceled/unpaid) when retries run out.
LIVE_STRIPE_STATUSES = frozenset({"active", "trialing", "past_due"})


class Subscription(BaseModel):
    id: UUID
    user_id: UUID
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    status: SubscriptionStatus
    plan: SubscriptionPlan
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    created_at: datetime
    updated_at: datetime


class Usage(BaseModel):
    posts_used: int
    posts_limit: int | None  # null: unlimited (Pro)
    can_post: bool


class BillingRedirect(BaseModel):
    url: str
    # "portal" when a user who already has a live Pro subscription asked for checkout.
    kind: Literal["checkout", "portal"]
