"""Replay: a realistic history of 200 Stripe events for 20 users, delivered in order, shuffled with
duplicates, and concurrently, must leave exactly the same subscriptions (the whole table)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shared.config import get_settings
from shared.db import Conn, Database
from tests.conftest import connect
from tests.factories.billing import (
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    StripeCustomer,
    checkout_completed,
    invoice_event,
    sign,
    subscription_event,
    to_body,
)
from tests.factories.users import TestUser, as_owner, create_user

USERS = 20
EVENTS_PER_USER = 10
MONTH = 30 * 86_400
ANNUAL_PRICE = "price_1SPro1LkdIwHu7ixAnnual"


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(get_settings(), "stripe_webhook_secret", SecretStr(WEBHOOK_SECRET))
    yield


def user_history(who: StripeCustomer, start: int, rng: random.Random, ns: str, index: int) -> list[dict[str, Any]]:
    """Ten events of one customer's life, in the order Stripe creates them (`created` never decreases)."""
    ids = iter(f"evt_{ns}u{index:02d}e{n:02d}" for n in range(100))
    t = start
    period_start, price = t, who.price_id
    events: list[dict[str, Any]] = [
        # Checkout: all in one second, as Stripe does it.
        checkout_completed(who, t, event_id=next(ids)),
        subscription_event("created", who, t, status="incomplete", event_id=next(ids)),
        invoice_event("paid", who, t, billing_reason="subscription_create", event_id=next(ids)),
        subscription_event("updated", who, t, status="active", event_id=next(ids)),
    ]
    cancel = False
    status = "active"
    while len(events) < EVENTS_PER_USER - 1:
        t += rng.randint(3_600, 10 * 86_400)
        step = rng.choice(["plan", "toggle", "renew_paid", "renew_failed", "recover"])
        if step == "plan":
            price = ANNUAL_PRICE if price == who.price_id else who.price_id
            events.append(
                subscription_event("updated", who, t, status=status, period_start=period_start,
                                   price_id=price, cancel_at_period_end=cancel, event_id=next(ids))
            )  # fmt: skip
        elif step == "toggle":
            cancel = not cancel
            events.append(
                subscription_event("updated", who, t, status=status, period_start=period_start,
                                   price_id=price, cancel_at_period_end=cancel, event_id=next(ids))
            )  # fmt: skip
        elif step == "renew_paid":
            period_start += MONTH
            status = "active"
            events.append(
                subscription_event("updated", who, t, status=status, period_start=period_start,
                                   price_id=price, cancel_at_period_end=cancel, event_id=next(ids))
            )  # fmt: skip
            events.append(invoice_event("paid", who, t + 3_600, event_id=next(ids)))
            t += 3_600
        elif step == "renew_failed":
            period_start += MONTH
            status = "past_due"
            # The failure and the status change land in the same second.
            events.append(invoice_event("payment_failed", who, t, event_id=next(ids)))
            events.append(
                subscription_event("updated", who, t, status=status, period_start=period_start,
                                   price_id=price, cancel_at_period_end=cancel, event_id=next(ids))
            )  # fmt: skip
        elif step == "recover" and status == "past_due":
            status = "active"
            events.append(invoice_event("paid", who, t, event_id=next(ids)))
    events = events[: EVENTS_PER_USER - 1]
    t += rng.randint(3_600, 86_400)
    if index % 4 == 0:
        events.append(
            subscription_event("deleted", who, t, period_start=period_start, price_id=price,
                               cancel_at_period_end=cancel, event_id=next(ids))
        )  # fmt: skip
    else:
        events.append(invoice_event("paid", who, t, event_id=next(ids)))
    return events


def history(users: list[TestUser], ns: str, seed: int = 5) -> tuple[list[dict[str, Any]], list[StripeCustomer]]:
    rng = random.Random(seed)
    customers = [
        StripeCustomer(user_id=str(u.id), customer_id=f"cus_{ns}{i:02d}", subscription_id=f"sub_{ns}{i:02d}")
        for i, u in enumerate(users)
    ]
    per_user = [user_history(c, 1_795_000_000 + i * 777, rng, ns, i) for i, c in enumerate(customers)]
    # In order: the global timeline, each customer's same-second events kept in creation order.
    ordered = sorted(
        (e for events in per_user for e in events),
        key=lambda e: (e["created"], e["id"]),
    )
    return ordered, customers


def shuffled_with_duplicates(events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    delivered = events + rng.sample(events, 60)  # Stripe delivers at least once, sometimes more
    rng.shuffle(delivered)
    return delivered


async def deliver_all(http: httpx.AsyncClient, events: list[dict[str, Any]]) -> list[str]:
    outcomes = []
    for event in events:
        body = to_body(event)
        response = await http.post(WEBHOOK_PATH, content=body, headers=sign(body))
        assert response.status_code == 200, response.text
        outcomes.append(response.json()["data"]["outcome"])
    return outcomes


async def table_state(conn: Conn, user_ids: list[Any], ns: str) -> list[tuple[Any, ...]]:
    """The whole subscriptions table for these users, with the run's id namespace taken out."""
    await as_owner(conn)
    cur = await conn.execute("select * from public.subscriptions where user_id = any(%s) order by user_id", (user_ids,))
    index = {str(u): i for i, u in enumerate(user_ids)}
    state = []
    for row in await cur.fetchall():
        normalized = {
            k: (v.replace(ns, "<ns>") if isinstance(v, str) else v)
            for k, v in row.items()
            if k not in ("id", "user_id", "created_at", "updated_at")
        }
        state.append((index[str(row["user_id"])], tuple(sorted(normalized.items()))))
    cur = await conn.execute(
        "select user_id, type, count(*) as n from public.notifications where user_id = any(%s) group by user_id, type",
        (user_ids,),
    )
    notes = sorted((index[str(r["user_id"])], r["type"], r["n"]) for r in await cur.fetchall())
    return [*sorted(state), ("notifications", tuple(notes))]


async def test_shuffled_duplicated_delivery_ends_in_the_in_order_state(client: httpx.AsyncClient, conn: Conn) -> None:
    users = [await create_user(conn) for _ in range(USERS)]
    user_ids = [u.id for u in users]
    events, _ = history(users, "zqr")
    assert len(events) == USERS * EVENTS_PER_USER == 200
    assert {e["type"] for e in events} >= {
        "checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
        "customer.subscription.deleted", "invoice.paid", "invoice.payment_failed",
    }  # fmt: skip

    async with conn.transaction(force_rollback=True):
        outcomes = await deliver_all(client, events)
        assert set(outcomes) == {"processed"}
        expected = await table_state(conn, user_ids, "zqr")
        cur = await conn.execute(
            "select plan, status, count(*) as n from public.subscriptions where user_id = any(%s)"
            " group by plan, status",
            (user_ids,),
        )
        by_state = {(r["plan"], r["status"]): r["n"] for r in await cur.fetchall()}
    # The history really ends the way it was written: every 4th user deleted, the rest paying Pro.
    assert by_state == {("free", "canceled"): USERS // 4, ("pro", "active"): USERS - USERS // 4}

    for seed in (1, 2, 3):
        async with conn.transaction(force_rollback=True):
            delivered = shuffled_with_duplicates(events, seed)
            outcomes = await deliver_all(client, delivered)
            assert outcomes.count("processed") == 200
            assert outcomes.count("duplicate") == len(delivered) - 200
            assert await table_state(conn, user_ids, "zqr") == expected, f"shuffle seed {seed}"


# --- the same, delivered concurrently on committed data ------------------------------------------


@pytest.fixture(scope="module")
async def committed(module_db_url: str) -> AsyncIterator[tuple[Conn, Database]]:
    conn = await connect(module_db_url)
    settings = get_settings().model_copy(update={"database_url": module_db_url, "db_pool_max_size": 12})
    db = Database.from_settings(settings)
    yield conn, db
    await db.close()
    await conn.close()


async def test_concurrent_shuffled_delivery_ends_in_the_in_order_state(
    committed: tuple[Conn, Database],
) -> None:
    from functions.stripe_webhook import app

    conn, db = committed
    in_order_users = [await create_user(conn) for _ in range(USERS)]
    racing_users = [await create_user(conn) for _ in range(USERS)]
    in_order, _ = history(in_order_users, "zqa")
    racing, _ = history(racing_users, "zqb")

    app.state.db = db
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            await deliver_all(http, in_order)
            delivered = shuffled_with_duplicates(racing, seed=11)
            lanes = [delivered[i::8] for i in range(8)]  # eight deliveries in flight at once
            results = await asyncio.gather(*(deliver_all(http, lane) for lane in lanes))
    finally:
        app.state.db = None
    outcomes = [o for lane in results for o in lane]
    assert outcomes.count("processed") == 200
    assert await table_state(conn, [u.id for u in racing_users], "zqb") == await table_state(
        conn, [u.id for u in in_order_users], "zqa"
    )
