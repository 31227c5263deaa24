"""Subscriptions and billing: the caller's plan, usage, Stripe Checkout, the Billing Portal, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from mangum import Mangum

from shared.config import get_settings
from shared.models.billing import BillingRedirect, Subscription, Usage
from shared.providers.billing import get_billing
from shared.services import billing, usage
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import Envelope, ok

router = APIRouter(prefix=API_PREFIX, tags=["subscriptions"])


@router.get("/subscription", response_model=Envelope[Subscription | None])
async def get_subscription(user: CurrentUser, db: Db) -> Any:
    return ok(await billing.get_subscription(db, user))


@router.get("/subscription/usage", response_model=Envelope[Usage])
async def get_usage(user: CurrentUser, db: Db) -> Any:
    await usage.sync_plan_settings(db, get_settings())
    async with db.user_tx(user) as conn:
        return ok(await usage.get_usage(conn))


@router.post("/subscription/checkout", response_model=Envelope[BillingRedirect])
async def create_checkout_session(user: CurrentUser, db: Db) -> Any:
    return ok(await billing.create_checkout_session(db, user, get_settings(), get_billing()))


@router.post("/subscription/portal", response_model=Envelope[BillingRedirect])
async def create_portal_session(user: CurrentUser, db: Db) -> Any:
    return ok(await billing.create_portal_session(db, user, get_settings(), get_billing()))


@router.post("/subscription/cancel", response_model=Envelope[Subscription])
async def cancel_subscription(user: CurrentUser, db: Db) -> Any:
    return ok(await billing.cancel_subscription(db, user, get_billing()))


app = create_app(router, title="ugig subscriptions")
handler = Mangum(app, lifespan="off")
