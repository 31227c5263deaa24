"""Rate limits hold under real concurrency: committed counters, parallel connections (as separate
Lambdas would hold), and the last slots handed out exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter

from shared.auth.tokens import TokenVerifier
from shared.config import get_settings
from shared.db import Database
from shared.services.cleanup_tasks import purge_rate_limit_windows
from shared.web.app import MAX_BODY_BYTES, create_app
from shared.web.envelope import ok
from shared.web.middleware import RequestContextMiddleware
from shared.web.rate_limit import SIGN_IN, InProcessRateLimitMiddleware, Limit, client_ip, hit


@pytest.fixture(scope="module")
async def pool_db(module_db_url: str) -> AsyncIterator[Database]:
    settings = get_settings().model_copy(update={"database_url": module_db_url, "db_pool_max_size": 30})
    db = Database.from_settings(settings)
    yield db
    await db.close()


async def _count(db: Database, key: str) -> int:
    async with db.service_tx() as conn:
        # The counters are only reachable through their definer functions; inspect as the login role.
        await conn.execute("select set_config('role', 'none', true)")
        cur = await conn.execute(
            "select coalesce(sum(count), 0)::int as n from private.rate_limit_counters where key = %s", (key,)
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def test_twenty_racing_requests_get_exactly_the_last_five_slots(pool_db: Database) -> None:
    limit = Limit("race", 100, 3600, "ip")
    subject = f"ip:{uuid.uuid4()}"
    for _ in range(95):  # committed, as earlier requests from other containers would have left them
        assert (await hit(pool_db, limit, subject)).allowed
    results = await asyncio.gather(*(hit(pool_db, limit, subject) for _ in range(20)))
    allowed = [r for r in results if r.allowed]
    assert len(allowed) == 5
    assert sorted(r.remaining for r in allowed) == [0, 1, 2, 3, 4]
    assert all(r.remaining == 0 for r in results if not r.allowed)
    assert await _count(pool_db, f"race:{subject}") == 115


async def test_racing_sign_ins_over_http_let_five_through(pool_db: Database) -> None:
    # Imported here, inside the running loop: Mangum at import time would make an event loop of its own.
    from functions.auth import router as auth_router

    app = create_app(auth_router)
    app.state.db = pool_db
    app.state.verifier = TokenVerifier(get_settings())
    ip = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    body = {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.test", "password": "Wrong-password-1"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        responses = await asyncio.gather(
            *(http.post("/api/v1/auth/signin", json=body, headers={"X-Forwarded-For": ip}) for _ in range(20))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * 5 + [429] * 15
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert limited.headers["RateLimit-Limit"] == str(SIGN_IN.max_requests)
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert 0 < int(limited.headers["Retry-After"]) <= SIGN_IN.window_seconds
    assert await _count(pool_db, f"signin:ip:{ip}") == 20


async def test_windows_are_separate_per_key(pool_db: Database) -> None:
    limit = Limit("sep", 1, 3600, "ip")
    assert (await hit(pool_db, limit, "ip:a-" + uuid.uuid4().hex)).allowed
    subject = "ip:b-" + uuid.uuid4().hex
    assert (await hit(pool_db, limit, subject)).allowed
    assert not (await hit(pool_db, limit, subject)).allowed


async def test_purge_removes_only_finished_windows(pool_db: Database) -> None:
    key = f"old:{uuid.uuid4()}"
    async with pool_db.service_tx() as conn:
        await conn.execute("select set_config('role', 'none', true)")
        await conn.execute(
            "insert into private.rate_limit_counters (key, window_start, expires_at, count)"
            " values (%s, now() - interval '2 hours', now() - interval '1 hour', 3)",
            (key,),
        )
    live = Limit("live", 5, 3600, "ip")
    live_subject = f"ip:{uuid.uuid4()}"
    await hit(pool_db, live, live_subject)
    assert await purge_rate_limit_windows(pool_db, get_settings()) >= 1
    assert await _count(pool_db, key) == 0
    assert await _count(pool_db, f"live:{live_subject}") == 1


def test_client_ip_trusts_forwarded_for_only_behind_an_internal_proxy() -> None:
    forwarded = [(b"x-forwarded-for", b"203.0.113.9, 10.0.0.1")]
    assert client_ip({"client": ("127.0.0.1", 1), "headers": forwarded}) == "203.0.113.9"
    # From a public address (API Gateway's sourceIp), a client-written header is ignored.
    assert client_ip({"client": ("8.8.4.4", 1), "headers": forwarded}) == "8.8.4.4"
    assert client_ip({"client": ("10.1.2.3", 1), "headers": [(b"x-forwarded-for", b"not-an-ip")]}) == "10.1.2.3"


async def test_in_process_default_limit_answers_429_in_the_envelope() -> None:
    router = APIRouter()

    @router.get("/ping")
    async def ping() -> object:
        return ok({"pong": True})

    # The stack create_app builds, with the default limit switched on (it is off for the test suite).
    app = RequestContextMiddleware(
        InProcessRateLimitMiddleware(create_app(router), limit=Limit("default", 3, 60, "ip"), enabled=True),
        max_body_bytes=MAX_BODY_BYTES,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        one = {"X-Forwarded-For": "203.0.113.5"}
        assert [(await http.get("/ping", headers=one)).status_code for _ in range(3)] == [200, 200, 200]
        refused = await http.get("/ping", headers=one)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        assert refused.json()["traceId"] == refused.headers["x-request-id"]
        assert refused.headers["ratelimit-limit"] == "3" and int(refused.headers["retry-after"]) >= 1
        assert (await http.get("/ping", headers={"X-Forwarded-For": "203.0.113.6"})).status_code == 200
