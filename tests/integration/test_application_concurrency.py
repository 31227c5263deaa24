"""Applications under real concurrency: committed data, a real pool, parallel HTTP requests."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from uuid import UUID

import httpx
import pytest

from shared.auth.tokens import TokenVerifier
from shared.config import get_settings
from shared.db import Conn, Database
from tests.conftest import connect
from tests.factories.marketplace import create_gig
from tests.factories.users import TestUser, create_user

API = "/api/v1"
COVER = "Available right away, with a portfolio of shipped AI products to show."


@pytest.fixture(scope="module")
async def setup_conn(module_db_url: str) -> AsyncIterator[Conn]:
    conn = await connect(module_db_url)  # autocommit: every factory call below commits
    yield conn
    await conn.close()


@pytest.fixture(scope="module")
async def http(module_db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    from functions.app import app

    db = Database.from_settings(
        get_settings().model_copy(update={"database_url": module_db_url, "db_pool_max_size": 60})
    )
    previous = getattr(app.state, "db", None)
    app.state.db = db
    app.state.verifier = TokenVerifier(get_settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client
    app.state.db = previous
    await db.close()


async def _users(conn: Conn, n: int) -> list[TestUser]:
    users = []
    for _ in range(n):
        async with conn.transaction():
            users.append(await create_user(conn))
    return users


async def _apply(http: httpx.AsyncClient, who: TestUser, gig_id: UUID) -> int:
    resp = await http.post(
        f"{API}/applications", json={"gig_id": str(gig_id), "cover_letter": COVER}, headers=who.headers
    )
    return resp.status_code


async def _counts(conn: Conn, gig_id: UUID) -> tuple[int, int]:
    cur = await conn.execute(
        "select (select count(*) from public.applications where gig_id = %(g)s) as rows,"
        " (select applications_count from public.gigs where id = %(g)s) as counter",
        {"g": gig_id},
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["rows"]), int(row["counter"])


async def test_fifty_applicants_at_once_are_all_counted(setup_conn: Conn, http: httpx.AsyncClient) -> None:
    [poster] = await _users(setup_conn, 1)
    gig_id = await create_gig(setup_conn, poster)
    applicants = await _users(setup_conn, 50)

    statuses = await asyncio.gather(*(_apply(http, a, gig_id) for a in applicants))

    assert Counter(statuses) == {201: 50}
    assert await _counts(setup_conn, gig_id) == (50, 50)
    cur = await setup_conn.execute(
        "select count(*) as n from public.notifications where user_id = %s and type = 'new_application'"
        " and data ->> 'gig_id' = %s",
        (poster.id, str(gig_id)),
    )
    assert (await cur.fetchone()) == {"n": 50}


async def test_the_same_applicant_twice_at_once_leaves_one(setup_conn: Conn, http: httpx.AsyncClient) -> None:
    poster, applicant = await _users(setup_conn, 2)
    gig_id = await create_gig(setup_conn, poster)

    statuses = await asyncio.gather(*(_apply(http, applicant, gig_id) for _ in range(2)))

    assert sorted(statuses) == [201, 409]
    assert await _counts(setup_conn, gig_id) == (1, 1)


async def test_applying_while_the_gig_closes_is_either_in_and_counted_or_refused(
    setup_conn: Conn, http: httpx.AsyncClient
) -> None:
    poster, *applicants = await _users(setup_conn, 21)
    gig_id = await create_gig(setup_conn, poster)

    async def close() -> int:
        resp = await http.put(f"{API}/gigs/{gig_id}/status", json={"status": "closed"}, headers=poster.headers)
        return resp.status_code

    results = await asyncio.gather(close(), *(_apply(http, a, gig_id) for a in applicants))

    assert results[0] == 200
    accepted = results[1:].count(201)
    assert set(results[1:]) <= {201, 409}
    # Every application that got in was counted, the rest were told the gig is closed, and it is closed.
    assert await _counts(setup_conn, gig_id) == (accepted, accepted)
    cur = await setup_conn.execute("select status from public.gigs where id = %s", (gig_id,))
    assert (await cur.fetchone()) == {"status": "closed"}
