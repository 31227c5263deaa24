"""Simultaneous first checkouts by one user create one Stripe customer (committed data, real pool)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from shared.config import get_settings
from shared.db import Conn, Database
from shared.providers.billing import StripeBilling, set_billing
from tests.conftest import connect
from tests.factories.billing import PRO_PRICE_ID, FakeStripe, fake_stripe_server
from tests.factories.users import create_user

PARALLEL = 10


@pytest.fixture
def fake_stripe(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    monkeypatch.setattr(get_settings(), "stripe_pro_price_id", PRO_PRICE_ID)
    with fake_stripe_server() as fake:
        set_billing(StripeBilling("sk_test_local_not_a_real_key", base_url=fake.base_url, max_network_retries=0))
        yield fake
    set_billing(None)


@pytest.fixture
async def committed(module_db_url: str) -> AsyncIterator[tuple[Conn, Database]]:
    conn = await connect(module_db_url)
    db = Database.from_settings(
        get_settings().model_copy(update={"database_url": module_db_url, "db_pool_max_size": PARALLEL + 2})
    )
    yield conn, db
    await db.close()
    await conn.close()


async def test_simultaneous_first_checkouts_create_one_customer(
    committed: tuple[Conn, Database], fake_stripe: FakeStripe
) -> None:
    from functions.subscriptions import app

    conn, db = committed
    user = await create_user(conn)
    app.state.db = db
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            responses = await asyncio.gather(
                *(http.post("/api/v1/subscription/checkout", headers=user.headers) for _ in range(PARALLEL))
            )
    finally:
        app.state.db = None
    assert [r.status_code for r in responses] == [200] * PARALLEL
    assert fake_stripe.paths().count("POST /v1/customers") == 1
    sessions = [r for r in fake_stripe.requests if r.path == "/v1/checkout/sessions"]
    cur = await conn.execute("select stripe_customer_id from public.subscriptions where user_id = %s", (user.id,))
    row = await cur.fetchone()
    assert row is not None and row["stripe_customer_id"]
    assert {s.form["customer"] for s in sessions} == {row["stripe_customer_id"]}
    assert len(sessions) == PARALLEL
