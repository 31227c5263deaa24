"""Applying verified Stripe events to subscriptions: once per event id, in any delivery order.

One transaction per event (service_role: events cross users): the event id is recorded first, so a
duplicate delivery changes nothing; if anything after that fails the transaction rolls back, the id
is not recorded, the webhook answers 5xx and Stripe's retry processes it afresh.

Order independence: every handled event states facts "as of" its `created`, ranked to break ties
inside Stripe's one-second resolution. A group of fields only takes a statement newer than the one it
holds (status + plan: every handled event; subscription details: full subscription snapshots only),
so each group ends at its newest statement whatever the delivery order. Notifications are facts
about each event (a payment did fail) and are written once per event id.

Plans: Pro while Stripe says active, trialing or past_due (past_due is Stripe's retry grace period:
the user keeps Pro until Stripe gives up and cancels); anything else, and deletion, is free.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from shared.db import Conn, Database, to_json
from shared.logging import get_logger
from shared.models.billing import LIVE_STRIPE_STATUSES

log = get_logger("stripe_events")

Outcome = Literal["processed", "duplicate", "ignored"]

# Ties in `created` (same second) resolve to the event that describes the later moment.
RANKS: dict[str, int] = {
    "checkout.session.completed": 1,
    "invoice.payment_failed": 2,
    "invoice.paid": 3,
    "customer.subscription.created": 4,
    "customer.subscription.updated": 5,
    "customer.subscription.deleted": 6,
}
HANDLED_TYPES = frozenset(RANKS)

# Stripe's subscription statuses onto the seed's five.
_STATUS_MAP = {
    "active": "active",
    "trialing": "trialing",
    "past_due": "past_due",
    "canceled": "canceled",
    "incomplete": "incomplete",
    "incomplete_expired": "canceled",
    "unpaid": "past_due",  # retries exhausted but not canceled: shown as past_due, without Pro
    "paused": "incomplete",
}


@dataclass(frozen=True)
class EventRef:
    id: str
    type: str
    created: int

    @property
    def key(self) -> str:
        return f"{self.created:012d}.{RANKS.get(self.type, 0)}.{self.id}"

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp(self.created, UTC)


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None


def _id_of(value: Any) -> str | None:
    """Stripe fields that may be an id or an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def _uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None


async def _user_by(conn: Conn, *, user_id: str | None, customer_id: str | None) -> str | None:
    """The user an event is about: our metadata first, then the remembered customer."""
    if user_id:
        cur = await conn.execute("select user_id from public.subscriptions where user_id = %s", (user_id,))
        row = await cur.fetchone()
        if row:
            return str(row["user_id"])
    if customer_id:
        cur = await conn.execute(
            "select user_id from public.subscriptions where stripe_customer_id = %s", (customer_id,)
        )
        row = await cur.fetchone()
        if row:
            return str(row["user_id"])
    return None


async def _link_customer(conn: Conn, user_id: str, customer_id: str | None) -> None:
    if not customer_id:
        return
    # Set once; never steal a customer id another user already holds (that would be a data error).
    await conn.execute(
        """update public.subscriptions s set stripe_customer_id = %(c)s
            where s.user_id = %(u)s and s.stripe_customer_id is null
              and not exists (select 1 from public.subscriptions o where o.stripe_customer_id = %(c)s)""",
        {"u": user_id, "c": customer_id},
    )


async def _state(conn: Conn, user_id: str, event: EventRef, status: str, plan: str) -> None:
    await conn.execute(
        """update public.subscriptions
              set status = %(status)s, plan = %(plan)s, status_event_key = %(key)s,
                  last_event_at = greatest(last_event_at, %(at)s)
            where user_id = %(u)s and (status_event_key is null or status_event_key < %(key)s collate "C")""",
        {"u": user_id, "status": status, "plan": plan, "key": event.key, "at": event.created_at},
    )


async def _details(conn: Conn, user_id: str, event: EventRef, sub: dict[str, Any], *, deleted: bool) -> None:
    items = (sub.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    # Since API 2025-03-31 the billing period lives on the subscription items.
    await conn.execute(
        """update public.subscriptions
              set stripe_subscription_id = %(sid)s, stripe_price_id = %(price)s,
                  current_period_start = %(start)s, current_period_end = %(end)s,
                  cancel_at_period_end = %(cancel)s, details_event_key = %(key)s,
                  last_event_at = greatest(last_event_at, %(at)s)
            where user_id = %(u)s and (details_event_key is null or details_event_key < %(key)s collate "C")
              and not exists (select 1 from public.subscriptions o
                               where o.stripe_subscription_id = %(sid)s and o.user_id <> %(u)s)""",
        {
            "u": user_id,
            "sid": sub["id"],
            "price": _id_of(first.get("price")),
            "start": _ts(first.get("current_period_start")),
            "end": _ts(first.get("current_period_end")),
            "cancel": False if deleted else bool(sub.get("cancel_at_period_end")),
            "key": event.key,
            "at": event.created_at,
        },
    )


async def _on_checkout_completed(conn: Conn, event: EventRef, session: dict[str, Any]) -> bool:
    if session.get("mode") != "subscription":
        return False
    metadata = session.get("metadata") or {}
    customer_id = _id_of(session.get("customer"))
    user_id = await _user_by(
        conn,
        user_id=_uuid(session.get("client_reference_id")) or _uuid(metadata.get("user_id")),
        customer_id=customer_id,
    )
    if user_id is None:
        return False
    await _link_customer(conn, user_id, customer_id)
    subscription_id = _id_of(session.get("subscription"))
    if subscription_id:
        # Only until the first subscription snapshot arrives: snapshots own this field.
        await conn.execute(
            """update public.subscriptions set stripe_subscription_id = %(sid)s
                where user_id = %(u)s and details_event_key is null
                  and not exists (select 1 from public.subscriptions o where o.stripe_subscription_id = %(sid)s)""",
            {"u": user_id, "sid": subscription_id},
        )
    if session.get("payment_status") in ("paid", "no_payment_required"):
        await _state(conn, user_id, event, "active", "pro")
    return True


async def _on_subscription(conn: Conn, event: EventRef, sub: dict[str, Any]) -> bool:
    customer_id = _id_of(sub.get("customer"))
    user_id = await _user_by(conn, user_id=_uuid((sub.get("metadata") or {}).get("user_id")), customer_id=customer_id)
    if user_id is None:
        return False
    await _link_customer(conn, user_id, customer_id)
    deleted = event.type == "customer.subscription.deleted"
    stripe_status = "canceled" if deleted else str(sub.get("status"))
    status = _STATUS_MAP.get(stripe_status, "incomplete")
    plan = "pro" if stripe_status in LIVE_STRIPE_STATUSES else "free"
    await _details(conn, user_id, event, sub, deleted=deleted)
    await _state(conn, user_id, event, status, plan)
    return True


def _invoice_subscription(invoice: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    # Current API: invoice.parent.subscription_details.{subscription, metadata} (was invoice.subscription).
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return _id_of(details.get("subscription")), details.get("metadata") or {}


async def _on_invoice(conn: Conn, event: EventRef, invoice: dict[str, Any]) -> bool:
    subscription_id, metadata = _invoice_subscription(invoice)
    if subscription_id is None:
        return False  # one-off invoices do not change plans
    customer_id = _id_of(invoice.get("customer"))
    user_id = await _user_by(conn, user_id=_uuid(metadata.get("user_id")), customer_id=customer_id)
    if user_id is None:
        return False
    await _link_customer(conn, user_id, customer_id)
    if event.type == "invoice.paid":
        # A $0 invoice (a trial's first) says nothing about the subscription being active.
        if int(invoice.get("amount_paid") or 0) > 0:
            await _state(conn, user_id, event, "active", "pro")
        return True
    # A failed first payment leaves the subscription incomplete (no Pro); a failed renewal is past_due.
    if invoice.get("billing_reason") == "subscription_create":
        await _state(conn, user_id, event, "incomplete", "free")
    else:
        await _state(conn, user_id, event, "past_due", "pro")
    await conn.execute(
        """insert into public.notifications (user_id, type, title, body, data)
           values (%s, 'payment_failed', %s, %s, %s)""",
        (
            user_id,
            "Your payment failed",
            "We could not charge your card for ugig Pro. Update your payment method to keep Pro.",
            to_json({"invoice_id": invoice.get("id"), "stripe_event_id": event.id}),
        ),
    )
    return True


async def _apply(conn: Conn, event: EventRef, obj: dict[str, Any]) -> bool:
    if event.type == "checkout.session.completed":
        return await _on_checkout_completed(conn, event, obj)
    if event.type.startswith("customer.subscription."):
        return await _on_subscription(conn, event, obj)
    return await _on_invoice(conn, event, obj)


async def handle_event(db: Database, payload: dict[str, Any]) -> Outcome:
    """The Stripe webhook's one entry point that crosses users (service_role)."""
    event = EventRef(id=str(payload["id"]), type=str(payload["type"]), created=int(payload["created"]))
    if event.type not in HANDLED_TYPES:
        return "ignored"
    obj: dict[str, Any] = payload["data"]["object"]
    async with db.service_tx() as conn:
        cur = await conn.execute(
            "insert into public.stripe_events (id, type, created) values (%s, %s, %s)"
            " on conflict (id) do nothing returning id",
            (event.id, event.type, event.created_at),
        )
        if await cur.fetchone() is None:
            return "duplicate"
        applied = await _apply(conn, event, obj)
    if not applied:
        log.warning("stripe event matched no subscription", extra={"event_id": event.id, "event_type": event.type})
    return "processed"
