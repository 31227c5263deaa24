"""The caller's subscription: read it, upgrade through Stripe Checkout, manage it in the portal, cancel.

These functions take the Database, not a connection, because they sequence short transactions around
Stripe calls (read, call Stripe, write) instead of holding one open across the network. The one
exception is creating the Stripe customer: it happens once per user, under a per-user advisory lock,
so two simultaneous first checkouts cannot create two customers.
"""

from __future__ import annotations

import time
from typing import Any

from shared.auth.principal import Principal
from shared.config import Settings
from shared.db import Conn, Database
from shared.errors import Conflict, ServiceUnavailable
from shared.models.billing import BillingRedirect, Subscription
from shared.providers.billing import BillingClient, CheckoutRequest

_SUBSCRIPTION_COLUMNS = (
    "id, user_id, stripe_customer_id, stripe_subscription_id, status, plan, current_period_start,"
    " current_period_end, cancel_at_period_end, created_at, updated_at"
)
# A double click within this window gets the same Checkout Session back (same idempotency key).
_CHECKOUT_KEY_WINDOW_SECONDS = 600


def billing_url(settings: Settings, path: str) -> str:
    return settings.app_base_url.rstrip("/") + path


def is_live_pro(sub: Subscription | None) -> bool:
    # plan = 'pro' is kept by the webhook for active, trialing and past_due (Stripe's retry grace).
    return sub is not None and sub.plan == "pro" and sub.stripe_subscription_id is not None


async def read_subscription(conn: Conn) -> Subscription | None:
    """The caller's own row; RLS hides everybody else's."""
    cur = await conn.execute(
        f"select {_SUBSCRIPTION_COLUMNS} from public.subscriptions where user_id = (select auth.uid())"
    )
    row = await cur.fetchone()
    return Subscription.model_validate(row) if row else None


async def get_subscription(db: Database, user: Principal) -> Subscription | None:
    async with db.user_tx(user) as conn:
        return await read_subscription(conn)


async def _ensure_customer(db: Database, user: Principal, billing: BillingClient) -> str:
    async with db.user_tx(user) as conn:
        # Serialises this user's concurrent first checkouts only; released at commit.
        await conn.execute("select pg_advisory_xact_lock(hashtext('stripe-customer:' || %s::text))", (user.user_id,))
        sub = await read_subscription(conn)
        if sub is None:
            raise Conflict("Your account has no subscription record; contact support")
        if sub.stripe_customer_id:
            return sub.stripe_customer_id
        customer_id = await billing.create_customer(
            user_id=str(user.user_id), email=user.email, idempotency_key=f"ugig-customer-{user.user_id}"
        )
        cur = await conn.execute("select private.link_my_stripe_customer(%s) as customer_id", (customer_id,))
        row = await cur.fetchone()
        assert row is not None and row["customer_id"]
        return str(row["customer_id"])


async def create_checkout_session(
    db: Database, user: Principal, settings: Settings, billing: BillingClient
) -> BillingRedirect:
    if not settings.stripe_pro_price_id:
        raise ServiceUnavailable("Billing is not configured")
    current = await get_subscription(db, user)
    if is_live_pro(current) and current is not None and current.stripe_customer_id:
        # One live subscription per user: manage it in the portal instead of buying a second one.
        url = await billing.create_portal_session(
            customer_id=current.stripe_customer_id, return_url=billing_url(settings, "/settings/billing")
        )
        return BillingRedirect(url=url, kind="portal")
    customer_id = await _ensure_customer(db, user, billing)
    window = int(time.time()) // _CHECKOUT_KEY_WINDOW_SECONDS
    url = await billing.create_checkout_session(
        CheckoutRequest(
            user_id=str(user.user_id),
            customer_id=customer_id,
            price_id=settings.stripe_pro_price_id,
            success_url=billing_url(settings, "/settings/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}"),
            cancel_url=billing_url(settings, "/settings/billing?checkout=canceled"),
            idempotency_key=f"ugig-checkout-{user.user_id}-{customer_id}-{settings.stripe_pro_price_id}-{window}",
        )
    )
    return BillingRedirect(url=url, kind="checkout")


async def create_portal_session(
    db: Database, user: Principal, settings: Settings, billing: BillingClient
) -> BillingRedirect:
    current = await get_subscription(db, user)
    if current is None or not current.stripe_customer_id:
        raise Conflict("You have no billing account yet; upgrade to Pro first")
    url = await billing.create_portal_session(
        customer_id=current.stripe_customer_id, return_url=billing_url(settings, "/settings/billing")
    )
    return BillingRedirect(url=url, kind="portal")


async def cancel_subscription(db: Database, user: Principal, billing: BillingClient) -> Subscription:
    """Cancels at the end of the paid period: Pro stays until then, the webhook downgrades after."""
    current = await get_subscription(db, user)
    if current is None or not is_live_pro(current) or current.stripe_subscription_id is None:
        raise Conflict("You have no active subscription to cancel")
    if current.cancel_at_period_end:
        return current
    result = await billing.cancel_at_period_end(
        subscription_id=current.stripe_subscription_id,
        # Tied to the row's version: a retry reuses it, a cancel after reactivating in the portal does not.
        idempotency_key=f"ugig-cancel-{current.stripe_subscription_id}-{current.updated_at.timestamp():.6f}",
    )
    async with db.user_tx(user) as conn:
        cur = await conn.execute(
            "select id from private.mark_my_cancel_at_period_end(%s, %s)",
            (result.subscription_id, result.cancel_at_period_end),
        )
        marked: Any = await cur.fetchone()
        updated = await read_subscription(conn)
    if marked is None or updated is None:
        # The subscription changed under us (a webhook replaced it); the caller can read it again.
        raise Conflict("Your subscription changed meanwhile; reload and try again")
    return updated
