"""Notifications (seed types Notification, NotificationType)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

NotificationType = Literal[
    "new_application",
    "application_status",
    "new_message",
    "call_scheduled",
    "review_received",
    "gig_update",
    # Written by the Stripe webhook on invoice.payment_failed (issue 5; migration 20261121130200).
    "payment_failed",
]


class Notification(BaseModel):
    id: UUID
    user_id: UUID
    type: NotificationType
    title: str
    body: str | None
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime


class UnreadCount(BaseModel):
    count: int


class MarkedRead(BaseModel):
    updated: int
