"""Concurrency with real, separate connections and committed data: getOrCreate converges on one
conversation, messages in one conversation commit in timestamp order, review aggregates lose nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from shared.config import get_settings
from shared.db import Conn, Database
from shared.models.messaging import ConversationCreate
from shared.services import conversations
from tests.conftest import connect
from tests.factories.messaging import create_application, create_conversation, create_gig, set_gig_status
from tests.factories.users import TestUser, create_user


@pytest.fixture
async def pool_db(module_db_url: str) -> AsyncIterator[Database]:
    settings = get_settings().model_copy(
        update={"database_url": module_db_url, "db_pool_min_size": 0, "db_pool_max_size": 12}
    )
    db = Database.from_settings(settings)
    yield db
    await db.close()


async def _as_user(conn: Conn, user: TestUser) -> None:
    await conn.execute(
        "select set_config('role', 'api_user', true), set_config('request.jwt.claims', %s, true)",
        (json.dumps(user.claims),),
    )


async def test_concurrent_get_or_create_returns_one_conversation(module_conn: Conn, pool_db: Database) -> None:
    a, b = await create_user(module_conn), await create_user(module_conn)

    async def call(i: int) -> tuple[str, bool]:
        me, other = (a, b) if i % 2 == 0 else (b, a)
        async with pool_db.user_tx(me.principal) as conn:
            conv, created = await conversations.get_or_create(conn, me.id, ConversationCreate(participant_id=other.id))
        return str(conv.id), created

    results = await asyncio.gather(*(call(i) for i in range(10)))
    assert len({conv_id for conv_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    cur = await module_conn.execute(
        "select count(*) as n from public.conversations where participant_ids @> array[%s, %s]::uuid[]", (a.id, b.id)
    )
    row = await cur.fetchone()
    assert row is not None and row["n"] == 1
    cur = await module_conn.execute(
        "select count(*) as n from public.conversation_participants where conversation_id = %s::uuid",
        (results[0][0],),
    )
    row = await cur.fetchone()
    assert row is not None and row["n"] == 2


async def _wait_until_blocked(observer: Conn, pid: int) -> None:
    # Polls the server's own view of the session, not the clock: done when it waits on a lock.
    for _ in range(500):
        cur = await observer.execute("select wait_event_type from pg_stat_activity where pid = %s", (pid,))
        row = await cur.fetchone()
        if row and row["wait_event_type"] == "Lock":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second insert never waited for the first")


async def test_a_later_commit_never_carries_an_earlier_timestamp(module_conn: Conn, module_db_url: str) -> None:
    a, b = await create_user(module_conn), await create_user(module_conn)
    conv = await create_conversation(module_conn, a, b)
    early, late = await connect(module_db_url), await connect(module_db_url)
    try:
        # `late` begins first: with created_at = now() its message would sort before `early`'s.
        await late.execute("begin")
        await _as_user(late, b)
        cur = await late.execute("select pg_backend_pid() as pid")
        pid_row = await cur.fetchone()
        assert pid_row is not None
        await early.execute("begin")
        await _as_user(early, a)
        cur = await early.execute(
            "insert into public.messages (conversation_id, sender_id, content) values (%s, %s, 'first')"
            " returning created_at",
            (conv, a.id),
        )
        first = await cur.fetchone()
        assert first is not None

        async def insert_late() -> datetime:
            c = await late.execute(
                "insert into public.messages (conversation_id, sender_id, content) values (%s, %s, 'second')"
                " returning created_at",
                (conv, b.id),
            )
            r = await c.fetchone()
            assert r is not None and isinstance(r["created_at"], datetime)
            return r["created_at"]

        task = asyncio.create_task(insert_late())
        await _wait_until_blocked(module_conn, pid_row["pid"])
        await early.execute("commit")
        second_at = await task
        await late.execute("commit")
        assert second_at > first["created_at"]
    finally:
        await early.close()
        await late.close()


async def test_concurrent_reviews_keep_an_exact_aggregate(module_conn: Conn, pool_db: Database) -> None:
    freelancer = await create_user(module_conn)
    posters = [await create_user(module_conn) for _ in range(8)]
    ratings = [5, 4, 3, 5, 2, 1, 4, 5]
    gigs = []
    for poster in posters:
        gig = await create_gig(module_conn, poster)
        await create_application(module_conn, gig, freelancer, status="accepted")
        await set_gig_status(module_conn, gig, "filled")
        gigs.append(gig)

    async def review(poster: TestUser, gig: object, rating: int) -> None:
        async with pool_db.user_tx(poster.principal) as conn:
            await conn.execute(
                "insert into public.reviews (gig_id, reviewer_id, reviewee_id, rating) values (%s, %s, %s, %s)",
                (gig, poster.id, freelancer.id, rating),
            )

    await asyncio.gather(*(review(p, g, r) for p, g, r in zip(posters, gigs, ratings, strict=True)))
    cur = await module_conn.execute(
        "select rating_count, rating_sum, rating_average from public.profiles where id = %s", (freelancer.id,)
    )
    row = await cur.fetchone()
    assert row is not None
    assert row["rating_count"] == 8
    assert row["rating_sum"] == sum(ratings)
    assert row["rating_average"] == (Decimal(sum(ratings)) / 8).quantize(Decimal("0.01"), ROUND_HALF_UP)
