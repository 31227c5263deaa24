"""POST /api/webhooks/stripe over HTTP: signatures, once-only processing, delivery order, the state
each event leaves behind, and a failed attempt that Stripe's retry completes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.config import get_settings
from shared.db import Conn
from tests.factories.billing import (
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    StripeCustomer,
    checkout_completed,
    invoice_event,
    load_stripe_event,
    set_free_limit,
    sign,
    subscription_event,
    subscription_row,
    to_body,
)
from tests.factories.users import TestUser, acting_as, as_owner

T0 = 1_795_000_000


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(get_settings(), "stripe_webhook_secret", SecretStr(WEBHOOK_SECRET))
    yield


async def deliver(client: httpx.AsyncClient, event: dict[str, Any]) -> httpx.Response:
    body = to_body(event)
    return await client.post(WEBHOOK_PATH, content=body, headers=sign(body))


async def count(conn: Conn, sql: str, *params: object) -> int:
    await as_owner(conn)
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def events_recorded(conn: Conn) -> int:
    return await count(conn, "select count(*) as n from public.stripe_events")


# --- signatures -------------------------------------------------------------------------------------


def test_fixtures_are_in_the_current_api_shape() -> None:
    sub = load_stripe_event("customer_subscription_created")["data"]["object"]
    # API 2025-03-31+: the billing period is on the items, not the subscription.
    assert "current_period_start" not in sub and "current_period_end" not in sub
    assert {"current_period_start", "current_period_end"} <= set(sub["items"]["data"][0])
    invoice = load_stripe_event("invoice_payment_failed")["data"]["object"]
    assert "subscription" not in invoice
    assert invoice["parent"]["subscription_details"]["subscription"].startswith("sub_")


async def test_valid_signature_is_processed(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    who = StripeCustomer.of(user)
    response = await deliver(client, checkout_completed(who, T0))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["data"]["outcome"] == "processed"
    row = await subscription_row(conn, user.id)
    assert (row["plan"], row["status"]) == ("pro", "active")
    assert row["stripe_customer_id"] == who.customer_id
    assert row["stripe_subscription_id"] == who.subscription_id
    assert await events_recorded(conn) == 1


def _tampered(body: str) -> tuple[str, dict[str, str]]:
    headers = sign(body)
    return body.replace('"payment_status":"paid"', '"payment_status":"paid","x":1'), headers


def _stale(body: str) -> tuple[str, dict[str, str]]:
    return body, sign(body, timestamp=int(time.time()) - 301)


def _wrong_secret(body: str) -> tuple[str, dict[str, str]]:
    return body, sign(body, secret="whsec_not_ours")


def _missing(body: str) -> tuple[str, dict[str, str]]:
    return body, {"Content-Type": "application/json"}


def _garbage(body: str) -> tuple[str, dict[str, str]]:
    return body, {"Stripe-Signature": "t=abc,v1=nope", "Content-Type": "application/json"}


@pytest.mark.parametrize("forge", [_tampered, _stale, _wrong_secret, _missing, _garbage])
async def test_bad_signature_is_400_and_writes_nothing(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, forge: Any
) -> None:
    before = await subscription_row(conn, user.id)
    body, headers = forge(to_body(checkout_completed(StripeCustomer.of(user), T0)))
    response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert response.status_code == 400
    payload = response.json()
    assert payload["success"] is False
    assert payload["error"]["code"] == "VALIDATION_ERROR"
    assert "stripe-signature" in payload["error"]["fields"]
    assert WEBHOOK_SECRET not in response.text
    assert await events_recorded(conn) == 0
    assert await subscription_row(conn, user.id) == before


async def test_signature_within_tolerance_is_accepted(client: httpx.AsyncClient, user: TestUser) -> None:
    body = to_body(checkout_completed(StripeCustomer.of(user), T0))
    response = await client.post(WEBHOOK_PATH, content=body, headers=sign(body, timestamp=int(time.time()) - 250))
    assert response.status_code == 200


async def test_unconfigured_secret_is_503(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "stripe_webhook_secret", None)
    body = to_body(load_stripe_event("customer_created"))
    response = await client.post(WEBHOOK_PATH, content=body, headers=sign(body))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


# --- once only, unhandled types -------------------------------------------------------------------


async def test_unhandled_event_types_get_2xx(client: httpx.AsyncClient, conn: Conn) -> None:
    response = await deliver(client, load_stripe_event("customer_created"))
    assert response.status_code == 200
    assert response.json()["data"]["outcome"] == "ignored"
    assert await events_recorded(conn) == 0


async def test_duplicate_delivery_is_applied_once(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    who = StripeCustomer.of(user)
    await deliver(client, subscription_event("created", who, T0))
    failed = invoice_event("payment_failed", who, T0 + 100)
    first = await deliver(client, failed)
    second = await deliver(client, failed)
    assert first.json()["data"]["outcome"] == "processed"
    assert second.status_code == 200 and second.json()["data"]["outcome"] == "duplicate"
    notifications = await count(
        conn, "select count(*) as n from public.notifications where user_id = %s and type = 'payment_failed'", user.id
    )
    assert notifications == 1
    assert await events_recorded(conn) == 2


async def test_event_for_an_unknown_customer_is_acknowledged(client: httpx.AsyncClient, conn: Conn) -> None:
    stranger = StripeCustomer(user_id="5b1f0a52-0000-4000-8000-00000000beef")
    response = await deliver(client, subscription_event("updated", stranger, T0))
    assert response.status_code == 200
    assert (
        await count(
            conn, "select count(*) as n from public.subscriptions where stripe_customer_id = %s", stranger.customer_id
        )
        == 0
    )


# --- what each event leaves behind ------------------------------------------------------------------


async def test_subscription_period_comes_from_the_items(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    who = StripeCustomer.of(user)
    event = subscription_event("created", who, T0, period_start=T0 - 10, period_end=T0 + 2_592_000)
    assert (await deliver(client, event)).status_code == 200
    row = await subscription_row(conn, user.id)
    assert int(row["current_period_start"].timestamp()) == T0 - 10
    assert int(row["current_period_end"].timestamp()) == T0 + 2_592_000
    assert row["stripe_price_id"] == who.price_id
    assert (row["plan"], row["status"], row["cancel_at_period_end"]) == ("pro", "active", False)


async def test_user_sees_own_subscription_after_checkout(
    client: httpx.AsyncClient, user: TestUser, other_user: TestUser
) -> None:
    who = StripeCustomer.of(user)
    await deliver(client, checkout_completed(who, T0))
    await deliver(client, subscription_event("created", who, T0))
    mine = (await client.get("/api/v1/subscription", headers=user.headers)).json()["data"]
    assert mine["plan"] == "pro" and mine["stripe_customer_id"] == who.customer_id
    theirs = (await client.get("/api/v1/subscription", headers=other_user.headers)).json()["data"]
    assert theirs["plan"] == "free" and theirs["stripe_customer_id"] is None
    usage = (await client.get("/api/v1/subscription/usage", headers=user.headers)).json()["data"]
    assert usage == {"posts_used": 0, "posts_limit": None, "can_post": True}


async def test_deleted_subscription_downgrades_to_free(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    await set_free_limit(conn, 10)
    who = StripeCustomer.of(user)
    await deliver(client, checkout_completed(who, T0))
    await deliver(client, subscription_event("created", who, T0))
    await deliver(client, subscription_event("updated", who, T0 + 500, cancel_at_period_end=True))
    assert (await subscription_row(conn, user.id))["cancel_at_period_end"] is True
    response = await deliver(client, subscription_event("deleted", who, T0 + 2_592_000, cancel_at_period_end=True))
    assert response.status_code == 200
    row = await subscription_row(conn, user.id)
    assert (row["plan"], row["status"], row["cancel_at_period_end"]) == ("free", "canceled", False)
    assert row["stripe_customer_id"] == who.customer_id  # kept: a later upgrade reuses the customer
    usage = (await client.get("/api/v1/subscription/usage", headers=user.headers)).json()["data"]
    assert usage == {"posts_used": 0, "posts_limit": 10, "can_post": True}


async def test_payment_failed_sets_past_due_keeps_pro_and_notifies(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    who = StripeCustomer.of(user)
    await deliver(client, subscription_event("created", who, T0))
    assert (await deliver(client, invoice_event("payment_failed", who, T0 + 2_592_000))).status_code == 200
    row = await subscription_row(conn, user.id)
    # Stripe's retry grace: past_due keeps Pro until Stripe gives up and cancels.
    assert (row["status"], row["plan"]) == ("past_due", "pro")
    async with acting_as(conn, user) as as_user:
        cur = await as_user.execute("select type, title, data from public.notifications")
        rows = await cur.fetchall()
    assert [r["type"] for r in rows] == ["payment_failed"]
    assert rows[0]["data"]["invoice_id"].startswith("in_")
    async with acting_as(conn, other_user) as as_other:
        cur = await as_other.execute("select count(*) as n from public.notifications")
        assert (await cur.fetchone() or {})["n"] == 0
    # The next successful payment brings it back.
    await deliver(client, invoice_event("paid", who, T0 + 2_600_000))
    assert (await subscription_row(conn, user.id))["status"] == "active"


async def test_failed_first_payment_is_incomplete_without_pro(
    client: httpx.AsyncClient, conn: Conn, user: TestUser
) -> None:
    who = StripeCustomer.of(user)
    await deliver(client, invoice_event("payment_failed", who, T0, billing_reason="subscription_create"))
    row = await subscription_row(conn, user.id)
    assert (row["status"], row["plan"]) == ("incomplete", "free")


# --- delivery order ---------------------------------------------------------------------------------


async def test_older_event_arriving_late_changes_nothing(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    who = StripeCustomer.of(user)
    newer = subscription_event("updated", who, T0 + 900, cancel_at_period_end=True, period_start=T0 + 5)
    older = subscription_event("created", who, T0, period_start=T0)
    await deliver(client, newer)
    response = await deliver(client, older)
    assert response.status_code == 200 and response.json()["data"]["outcome"] == "processed"
    row = await subscription_row(conn, user.id)
    assert row["cancel_at_period_end"] is True
    assert int(row["current_period_start"].timestamp()) == T0 + 5
    assert int(row["last_event_at"].timestamp()) == T0 + 900


async def test_deletion_then_late_updates_stay_deleted(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    who = StripeCustomer.of(user)
    await deliver(client, subscription_event("deleted", who, T0 + 1000))
    await deliver(client, invoice_event("paid", who, T0 + 10))
    await deliver(client, subscription_event("updated", who, T0 + 20))
    await deliver(client, checkout_completed(who, T0))
    row = await subscription_row(conn, user.id)
    assert (row["plan"], row["status"]) == ("free", "canceled")


async def test_same_second_events_resolve_the_same_either_way(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    # Checkout, subscription created (incomplete) and updated (active) in one second, as Stripe does.
    results = []
    for who_user, reverse in ((user, False), (other_user, True)):
        who = StripeCustomer.of(who_user)
        events = [
            checkout_completed(who, T0),
            subscription_event("created", who, T0, status="incomplete"),
            invoice_event("paid", who, T0, billing_reason="subscription_create"),
            subscription_event("updated", who, T0, status="active"),
        ]
        for event in reversed(events) if reverse else events:
            assert (await deliver(client, event)).status_code == 200
        row = await subscription_row(conn, who_user.id)
        results.append((row["plan"], row["status"]))
    assert results == [("pro", "active"), ("pro", "active")]


# --- a failure inside processing --------------------------------------------------------------------


async def test_failure_inside_processing_is_5xx_and_the_retry_succeeds(
    client: httpx.AsyncClient, conn: Conn, user: TestUser
) -> None:
    # A fault in the database, after the event id was inserted: everything must roll back together.
    await as_owner(conn)
    await conn.execute("create table public.test_webhook_fault (armed boolean)")
    await conn.execute("insert into public.test_webhook_fault values (true)")
    await conn.execute(
        """create function public.test_webhook_fault_fn() returns trigger language plpgsql as $$
           begin
             if exists (select 1 from public.test_webhook_fault where armed) then
               raise exception 'injected fault with secret-ish detail: select * from x';
             end if;
             return new;
           end $$"""
    )
    await conn.execute(
        "create trigger test_webhook_fault before update on public.subscriptions"
        " for each row execute function public.test_webhook_fault_fn()"
    )
    who = StripeCustomer.of(user)
    event = subscription_event("created", who, T0)
    failed = await deliver(client, event)
    assert failed.status_code >= 500
    assert failed.json()["success"] is False
    assert "select" not in failed.text and "injected" not in failed.text
    assert await events_recorded(conn) == 0  # the id rolled back with the rest: Stripe's retry is not a duplicate
    assert (await subscription_row(conn, user.id))["plan"] == "free"

    await conn.execute("update public.test_webhook_fault set armed = false")
    retried = await deliver(client, event)
    assert retried.status_code == 200 and retried.json()["data"]["outcome"] == "processed"
    row = await subscription_row(conn, user.id)
    assert (row["plan"], row["stripe_subscription_id"]) == ("pro", who.subscription_id)
    assert await events_recorded(conn) == 1


async def test_body_is_verified_raw_not_reserialised(client: httpx.AsyncClient, user: TestUser) -> None:
    # Whitespace is part of the signed payload: a pretty-printed body verifies as sent.
    body = json.dumps(checkout_completed(StripeCustomer.of(user), T0), indent=2)
    response = await client.post(WEBHOOK_PATH, content=body, headers=sign(body))
    assert response.status_code == 200


async def test_payment_failed_notification_is_listed_to_its_user(client: httpx.AsyncClient, user: TestUser) -> None:
    who = StripeCustomer.of(user)
    await deliver(client, subscription_event("created", who, T0))
    await deliver(client, invoice_event("payment_failed", who, T0 + 2_592_000))
    response = await client.get("/api/v1/notifications", headers=user.headers)
    assert response.status_code == 200, response.text
    items = response.json()["data"]["items"]
    assert [(n["type"], n["title"]) for n in items] == [("payment_failed", "Your payment failed")]
