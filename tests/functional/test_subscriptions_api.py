"""The subscription routes over HTTP, with the real StripeBilling client aimed at a local server that
plays Stripe's API: the tests assert on the requests Stripe would receive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shared.config import get_settings
from shared.db import Conn
from shared.providers.billing import StripeBilling, UnconfiguredBilling, set_billing
from tests.factories.billing import (
    PRO_PRICE_ID,
    FakeStripe,
    StripeCustomer,
    fake_stripe_server,
    set_plan,
    subscription_row,
)
from tests.factories.marketplace import create_gig
from tests.factories.users import TestUser

API = "/api/v1/subscription"
APP_BASE = "https://app.ugig.test"


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[FakeStripe]:
    with fake_stripe_server() as fake:
        yield fake


@pytest.fixture(autouse=True)
async def fake_stripe(stripe_server: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeStripe]:
    stripe_server.requests.clear()
    stripe_server.fail_with = None
    monkeypatch.setattr(get_settings(), "stripe_pro_price_id", PRO_PRICE_ID)
    monkeypatch.setattr(get_settings(), "app_base_url", APP_BASE)
    set_billing(StripeBilling("sk_test_local_not_a_real_key", base_url=stripe_server.base_url, max_network_retries=0))
    yield stripe_server
    set_billing(None)


# --- reading -------------------------------------------------------------------------------------


async def test_get_subscription_new_user_is_free(client: httpx.AsyncClient, user: TestUser) -> None:
    response = await client.get(API, headers=user.headers)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["user_id"] == str(user.id)
    assert (data["plan"], data["status"], data["cancel_at_period_end"]) == ("free", "active", False)
    assert data["stripe_customer_id"] is None and data["stripe_subscription_id"] is None
    assert set(data) == {
        "id", "user_id", "stripe_customer_id", "stripe_subscription_id", "status", "plan",
        "current_period_start", "current_period_end", "cancel_at_period_end", "created_at", "updated_at",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("GET", "/usage"), ("POST", "/checkout"), ("POST", "/portal"), ("POST", "/cancel")],
)
async def test_every_route_needs_a_token(
    client: httpx.AsyncClient, fake_stripe: FakeStripe, method: str, path: str
) -> None:
    response = await client.request(method, API + path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert fake_stripe.requests == []


def configure_free_limit(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    # FREE_PLAN_MONTHLY_POSTS; the usage route writes it where the database enforces it.
    monkeypatch.setattr(get_settings(), "free_plan_monthly_posts", limit)


async def test_usage_counts_published_gigs_this_month(
    client: httpx.AsyncClient, user: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_free_limit(monkeypatch, 3)
    usage = (await client.get(API + "/usage", headers=user.headers)).json()["data"]
    assert usage == {"posts_used": 0, "posts_limit": 3, "can_post": True}
    # Through the gigs route: the same trigger counts and enforces.
    body = {
        "title": "Build a retrieval chatbot",
        "description": "We need an engineer to build a retrieval augmented chatbot for our support team.",
        "category": "ai-development",
        "budget_type": "fixed",
        "budget_max": 1200,
    }
    draft = await client.post("/api/v1/gigs", json={**body, "status": "draft"}, headers=user.headers)
    assert draft.status_code == 201, draft.text
    for _ in range(3):
        assert (await client.post("/api/v1/gigs", json=body, headers=user.headers)).status_code == 201
    usage = (await client.get(API + "/usage", headers=user.headers)).json()["data"]
    assert usage == {"posts_used": 3, "posts_limit": 3, "can_post": False}

    over = await client.post("/api/v1/gigs", json=body, headers=user.headers)
    assert over.status_code == 402
    assert over.json()["error"] == {
        "code": "LIMIT_EXCEEDED",
        "message": "You have reached your plan's limit of 3 gig posts this month",
    }
    publish = await client.put(
        f"/api/v1/gigs/{draft.json()['data']['id']}/status", json={"status": "active"}, headers=user.headers
    )
    assert publish.status_code == 402
    mine = (await client.get("/api/v1/me/gigs", headers=user.headers)).json()["data"]
    assert mine["total"] == 4  # three active and the draft; nothing from the refused posts


async def test_posting_enforces_the_configured_limit_without_a_usage_call(
    client: httpx.AsyncClient, user: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh process whose first request posts a gig: the configured limit must already hold.
    configure_free_limit(monkeypatch, 1)
    body = {
        "title": "Label a training data set",
        "description": "Label ten thousand support tickets by intent for fine-tuning our classifier.",
        "category": "machine-learning",
        "budget_type": "fixed",
        "budget_max": 400,
    }
    assert (await client.post("/api/v1/gigs", json=body, headers=user.headers)).status_code == 201
    draft = await client.post("/api/v1/gigs", json={**body, "status": "draft"}, headers=user.headers)
    assert draft.status_code == 201
    assert (await client.post("/api/v1/gigs", json=body, headers=user.headers)).status_code == 402
    gig_id = draft.json()["data"]["id"]
    publish = await client.put(f"/api/v1/gigs/{gig_id}/status", json={"status": "active"}, headers=user.headers)
    assert publish.status_code == 402


async def test_usage_is_the_callers_own(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    async with conn.transaction():
        await conn.execute("select set_config('role', 'api_user', true), set_config('request.jwt.claims', %s, true)",
                           (other_user.principal.claims_json,))  # fmt: skip
        await conn.execute(
            "insert into public.gigs (poster_id, title, description, category, budget_type, budget_max, status)"
            " values (%s, 'Automate our invoices', 'Connect our invoicing tool to the accounting system please.',"
            " 'automation', 'fixed', 400, 'active')",
            (other_user.id,),
        )
    mine = (await client.get(API + "/usage", headers=user.headers)).json()["data"]
    theirs = (await client.get(API + "/usage", headers=other_user.headers)).json()["data"]
    assert mine["posts_used"] == 0 and theirs["posts_used"] == 1


async def test_pro_usage_is_unlimited(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_free_limit(monkeypatch, 1)
    await set_plan(conn, user, plan="pro", customer=StripeCustomer.of(user))
    for _ in range(3):
        await create_gig(conn, user)  # owner-inserted setup gigs do not count; Pro has no limit either way
    usage = (await client.get(API + "/usage", headers=user.headers)).json()["data"]
    assert usage == {"posts_used": 0, "posts_limit": None, "can_post": True}


async def test_past_due_keeps_pro_limits(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    await set_plan(conn, user, plan="pro", status="past_due", customer=StripeCustomer.of(user))
    usage = (await client.get(API + "/usage", headers=user.headers)).json()["data"]
    assert usage["posts_limit"] is None


# --- checkout ------------------------------------------------------------------------------------


async def test_checkout_creates_one_customer_and_a_subscription_session(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, fake_stripe: FakeStripe
) -> None:
    response = await client.post(API + "/checkout", headers=user.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["kind"] == "checkout"
    assert data["url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")

    assert fake_stripe.paths() == ["POST /v1/customers", "POST /v1/checkout/sessions"]
    customer_req, session_req = fake_stripe.requests
    assert customer_req.form["metadata[user_id]"] == str(user.id)
    assert customer_req.form["email"] == user.email
    assert customer_req.headers["idempotency-key"] == f"ugig-customer-{user.id}"
    assert customer_req.headers["authorization"] == "Bearer sk_test_local_not_a_real_key"

    row = await subscription_row(conn, user.id)
    customer_id = row["stripe_customer_id"]
    assert customer_id and customer_id.startswith("cus_")
    form = session_req.form
    assert form["mode"] == "subscription"
    assert form["customer"] == customer_id
    assert form["line_items[0][price]"] == PRO_PRICE_ID
    assert form["line_items[0][quantity]"] == "1"
    assert form["client_reference_id"] == str(user.id)
    assert form["metadata[user_id]"] == str(user.id)
    assert form["subscription_data[metadata][user_id]"] == str(user.id)
    assert form["success_url"] == (f"{APP_BASE}/settings/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}")
    assert form["cancel_url"] == f"{APP_BASE}/settings/billing?checkout=canceled"
    assert session_req.headers["idempotency-key"].startswith(f"ugig-checkout-{user.id}-{customer_id}-")


async def test_second_checkout_reuses_the_customer(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, fake_stripe: FakeStripe
) -> None:
    await client.post(API + "/checkout", headers=user.headers)
    first_customer = (await subscription_row(conn, user.id))["stripe_customer_id"]
    fake_stripe.requests.clear()
    response = await client.post(API + "/checkout", headers=user.headers)
    assert response.status_code == 200
    assert fake_stripe.paths() == ["POST /v1/checkout/sessions"]
    assert fake_stripe.requests[0].form["customer"] == first_customer
    assert (await subscription_row(conn, user.id))["stripe_customer_id"] == first_customer


@pytest.mark.parametrize("status", ["active", "trialing", "past_due"])
async def test_checkout_with_a_live_subscription_opens_the_portal(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, fake_stripe: FakeStripe, status: str
) -> None:
    who = StripeCustomer.of(user)
    await set_plan(conn, user, plan="pro", status=status, customer=who)
    response = await client.post(API + "/checkout", headers=user.headers)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["kind"] == "portal" and data["url"].startswith("https://billing.stripe.com/p/session/")
    assert fake_stripe.paths() == ["POST /v1/billing_portal/sessions"]
    assert fake_stripe.requests[0].form == {"customer": who.customer_id, "return_url": f"{APP_BASE}/settings/billing"}


async def test_checkout_after_cancellation_reuses_the_customer(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, fake_stripe: FakeStripe
) -> None:
    who = StripeCustomer.of(user)
    await set_plan(conn, user, plan="free", status="canceled", customer=who)
    response = await client.post(API + "/checkout", headers=user.headers)
    assert response.json()["data"]["kind"] == "checkout"
    assert fake_stripe.paths() == ["POST /v1/checkout/sessions"]
    assert fake_stripe.requests[0].form["customer"] == who.customer_id


async def test_stripe_down_is_503_without_details(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_with = 500
    response = await client.post(API + "/checkout", headers=user.headers)
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "sk_test" not in response.text and "never echo" not in response.text
    assert (await subscription_row(conn, user.id))["stripe_customer_id"] is None


async def test_unconfigured_billing_is_503(
    client: httpx.AsyncClient, user: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_billing(UnconfiguredBilling())
    response = await client.post(API + "/checkout", headers=user.headers)
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "Billing is not configured"
    monkeypatch.setattr(get_settings(), "stripe_pro_price_id", None)
    assert (await client.post(API + "/checkout", headers=user.headers)).status_code == 503


# --- portal and cancel -----------------------------------------------------------------------------


async def test_portal_needs_a_billing_account(
    client: httpx.AsyncClient, user: TestUser, fake_stripe: FakeStripe
) -> None:
    response = await client.post(API + "/portal", headers=user.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert fake_stripe.requests == []


async def test_portal_for_a_customer(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, fake_stripe: FakeStripe
) -> None:
    who = StripeCustomer.of(user)
    await set_plan(conn, user, plan="pro", customer=who)
    response = await client.post(API + "/portal", headers=user.headers)
    assert response.status_code == 200
    assert response.json()["data"]["kind"] == "portal"
    assert fake_stripe.requests[0].form["customer"] == who.customer_id


async def test_cancel_sets_cancel_at_period_end_in_stripe_and_at_once_locally(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, fake_stripe: FakeStripe
) -> None:
    who = StripeCustomer.of(user)
    await set_plan(conn, user, plan="pro", customer=who)
    response = await client.post(API + "/cancel", headers=user.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["cancel_at_period_end"], data["plan"]) == (True, "pro")  # Pro until the period ends
    assert fake_stripe.paths() == [f"POST /v1/subscriptions/{who.subscription_id}"]
    request = fake_stripe.requests[0]
    assert request.form == {"cancel_at_period_end": "true"}
    assert request.headers["idempotency-key"].startswith(f"ugig-cancel-{who.subscription_id}-")
    assert (await subscription_row(conn, user.id))["cancel_at_period_end"] is True

    again = await client.post(API + "/cancel", headers=user.headers)
    assert again.status_code == 200 and len(fake_stripe.requests) == 1  # already canceling: no second call


async def test_cancel_without_a_subscription_is_409(
    client: httpx.AsyncClient, user: TestUser, fake_stripe: FakeStripe
) -> None:
    response = await client.post(API + "/cancel", headers=user.headers)
    assert response.status_code == 409
    assert fake_stripe.requests == []


async def test_cancel_when_stripe_fails_changes_nothing(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, fake_stripe: FakeStripe
) -> None:
    await set_plan(conn, user, plan="pro", customer=StripeCustomer.of(user))
    fake_stripe.fail_with = 502
    response = await client.post(API + "/cancel", headers=user.headers)
    assert response.status_code == 503
    assert (await subscription_row(conn, user.id))["cancel_at_period_end"] is False
