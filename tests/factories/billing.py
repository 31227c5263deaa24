"""Billing test helpers: Stripe events built from the fixtures in tests/events/stripe (the current API
shape), signed with stripe's own helper; a local HTTP server that plays Stripe's API and records the
requests the billing client sends; and direct setup of plans and limits."""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import stripe

from shared.db import Conn
from tests.factories.users import TestUser, as_owner

STRIPE_EVENTS_DIR = Path(__file__).resolve().parent.parent / "events" / "stripe"
WEBHOOK_SECRET = "whsec_test_ugig_local_webhook_secret"
PRO_PRICE_ID = "price_1SPro0LkdIwHu7ixMonthly"
WEBHOOK_PATH = "/api/webhooks/stripe"

_ids = itertools.count(1)


def load_stripe_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((STRIPE_EVENTS_DIR / f"{name}.json").read_text())
    return loaded


def next_id(prefix: str) -> str:
    return f"{prefix}_Test{next(_ids):010d}"


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The Stripe-Signature header stripe itself would send for this exact body."""
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def to_body(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


@dataclass
class StripeCustomer:
    """One user's Stripe side: ids that stay the same across that user's events."""

    user_id: str
    customer_id: str = field(default_factory=lambda: next_id("cus"))
    subscription_id: str = field(default_factory=lambda: next_id("sub"))
    price_id: str = PRO_PRICE_ID

    @classmethod
    def of(cls, user: TestUser) -> StripeCustomer:
        return cls(user_id=str(user.id))


def _event(template: str, created: int, event_id: str | None) -> dict[str, Any]:
    event = copy.deepcopy(load_stripe_event(template))
    event["id"] = event_id or next_id("evt")
    event["created"] = created
    return event


def checkout_completed(who: StripeCustomer, created: int, *, event_id: str | None = None) -> dict[str, Any]:
    event = _event("checkout_session_completed", created, event_id)
    session = event["data"]["object"]
    session.update(
        id=next_id("cs_test"),
        client_reference_id=who.user_id,
        metadata={"user_id": who.user_id},
        customer=who.customer_id,
        subscription=who.subscription_id,
        created=created - 60,
    )
    return event


def subscription_event(
    kind: str,
    who: StripeCustomer,
    created: int,
    *,
    status: str = "active",
    period_start: int | None = None,
    period_end: int | None = None,
    cancel_at_period_end: bool = False,
    price_id: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """customer.subscription.<kind> (created, updated, deleted) with a full subscription snapshot."""
    event = _event(f"customer_subscription_{kind}", created, event_id)
    sub = event["data"]["object"]
    start = period_start if period_start is not None else created
    end = period_end if period_end is not None else start + 30 * 86400
    price = price_id or who.price_id
    sub.update(
        id=who.subscription_id,
        customer=who.customer_id,
        metadata={"user_id": who.user_id},
        status="canceled" if kind == "deleted" else status,
        cancel_at_period_end=cancel_at_period_end,
        cancel_at=end if cancel_at_period_end else None,
    )
    item = sub["items"]["data"][0]
    item.update(subscription=who.subscription_id, current_period_start=start, current_period_end=end)
    item["price"]["id"] = price
    item["plan"]["id"] = price
    return event


def invoice_event(
    kind: str,
    who: StripeCustomer,
    created: int,
    *,
    billing_reason: str = "subscription_cycle",
    amount: int = 1900,
    event_id: str | None = None,
) -> dict[str, Any]:
    """invoice.paid or invoice.payment_failed for the user's subscription."""
    event = _event("invoice_paid" if kind == "paid" else "invoice_payment_failed", created, event_id)
    invoice = event["data"]["object"]
    invoice.update(id=next_id("in"), customer=who.customer_id, billing_reason=billing_reason, created=created)
    invoice["amount_paid"] = amount if kind == "paid" else 0
    invoice["parent"]["subscription_details"] = {
        "metadata": {"user_id": who.user_id},
        "subscription": who.subscription_id,
    }
    for line in invoice["lines"]["data"]:
        line["parent"]["subscription_item_details"]["subscription"] = who.subscription_id
    return event


# --- plans and limits, set up directly (as the owner role) -----------------------------------------


async def set_free_limit(conn: Conn, limit: int) -> None:
    await as_owner(conn)
    await conn.execute("update private.billing_settings set free_plan_monthly_posts = %s where id", (limit,))


async def set_plan(
    conn: Conn, user: TestUser, *, plan: str, status: str = "active", customer: StripeCustomer | None = None
) -> None:
    await as_owner(conn)
    await conn.execute(
        "update public.subscriptions set plan = %s, status = %s, stripe_customer_id = %s,"
        " stripe_subscription_id = %s where user_id = %s",
        (
            plan,
            status,
            customer.customer_id if customer else None,
            customer.subscription_id if customer else None,
            user.id,
        ),
    )


async def subscription_row(conn: Conn, user_id: object) -> dict[str, Any]:
    await as_owner(conn)
    cur = await conn.execute("select * from public.subscriptions where user_id = %s", (user_id,))
    row = await cur.fetchone()
    assert row is not None
    return dict(row)


# --- a local HTTP server that plays Stripe's API -----------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


class FakeStripe:
    """Records every request and answers with Stripe-shaped JSON; `fail_with` makes calls fail."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.fail_with: int | None = None
        self.lock = threading.Lock()
        self.base_url = ""

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    def answer(self, method: str, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.fail_with is not None:
            return self.fail_with, {"error": {"type": "api_error", "message": "sk_test_secret leaked? never echo"}}
        if method == "POST" and path == "/v1/customers":
            return 200, {"id": next_id("cus"), "object": "customer", "email": form.get("email"), "metadata": {}}
        if method == "POST" and path == "/v1/checkout/sessions":
            sid = next_id("cs_test")
            return 200, {
                "id": sid,
                "object": "checkout.session",
                "mode": "subscription",
                "customer": form.get("customer"),
                "url": f"https://checkout.stripe.com/c/pay/{sid}",
            }
        if method == "POST" and path == "/v1/billing_portal/sessions":
            sid = next_id("bps")
            return 200, {
                "id": sid,
                "object": "billing_portal.session",
                "customer": form.get("customer"),
                "return_url": form.get("return_url"),
                "url": f"https://billing.stripe.com/p/session/{sid}",
            }
        if method == "POST" and path.startswith("/v1/subscriptions/"):
            return 200, {
                "id": path.rsplit("/", 1)[1],
                "object": "subscription",
                "status": "active",
                "cancel_at_period_end": form.get("cancel_at_period_end") == "true",
            }
        return 404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}


@contextmanager
def fake_stripe_server() -> Iterator[FakeStripe]:
    fake = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            form = dict(parse_qsl(raw or query, keep_blank_values=True))
            with fake.lock:
                fake.requests.append(
                    RecordedRequest(self.command, path, {k.lower(): v for k, v in self.headers.items()}, form)
                )
                status, body = fake.answer(self.command, path, form)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", "req_test_local")
            self.end_headers()
            self.wfile.write(data)

        do_GET = _handle
        do_POST = _handle
        do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
