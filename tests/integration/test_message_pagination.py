"""Message history pagination: a walk through the pages, with new messages arriving between page
fetches, returns every message that existed when it began exactly once, newest first; the cursor
is an index condition, so page depth costs nothing."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from shared.db import Conn, Database, SingleConnectionSource
from shared.services import messages
from tests.factories.messaging import add_message, create_conversation
from tests.factories.users import TestUser, acting_as, create_user


async def _walk(
    db: Database, reader: TestUser, conv: uuid.UUID, rng: random.Random, writer: TestUser, conn: Conn
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    seen: list[uuid.UUID] = []
    inserted: list[uuid.UUID] = []
    cursor: str | None = None
    while True:
        async with db.user_tx(reader.principal) as tx:
            page = await messages.list_page(tx, conv, cursor=cursor, limit=rng.randint(1, 7))
        stamps = [(m.created_at, m.id) for m in page.items]
        assert stamps == sorted(stamps, reverse=True)  # newest first within a page
        seen += [m.id for m in page.items]
        # Others keep talking while the reader scrolls back.
        for _ in range(rng.randint(0, 4)):
            inserted.append(await add_message(conn, conv, rng.choice([writer, reader])))
        if not page.has_more:
            assert page.next_cursor is None
            return seen, inserted
        assert page.next_cursor is not None
        cursor = page.next_cursor


@pytest.mark.parametrize("seed", range(12))
async def test_walk_loses_and_repeats_nothing_under_concurrent_inserts(conn: Conn, seed: int) -> None:
    rng = random.Random(seed)
    reader, writer = await create_user(conn), await create_user(conn)
    conv = await create_conversation(conn, reader, writer)
    existing = [await add_message(conn, conv, rng.choice([reader, writer])) for _ in range(rng.randint(0, 40))]
    db = Database(SingleConnectionSource(conn))

    seen, inserted = await _walk(db, reader, conv, rng, writer, conn)

    assert len(seen) == len(set(seen)), "a message was returned twice"
    assert set(existing) <= set(seen), "a message that existed when the walk began was skipped"
    # Walking newest first, the pre-existing messages come in reverse insertion order.
    assert [m for m in seen if m in set(existing)] == existing[::-1]
    assert set(seen) <= set(existing) | set(inserted)


async def test_timestamps_are_strictly_increasing_within_a_conversation(conn: Conn) -> None:
    a, b = await create_user(conn), await create_user(conn)
    conv = await create_conversation(conn, a, b)
    ids = [await add_message(conn, conv, a) for _ in range(50)]  # all within one transaction
    cur = await conn.execute(
        "select id from public.messages where conversation_id = %s order by created_at, id", (conv,)
    )
    assert [r["id"] for r in await cur.fetchall()] == ids
    cur = await conn.execute(
        "select count(distinct created_at) as n from public.messages where conversation_id = %s", (conv,)
    )
    row = await cur.fetchone()
    assert row is not None and row["n"] == 50


async def test_deep_pages_seek_through_the_index(conn: Conn) -> None:
    a, b = await create_user(conn), await create_user(conn)
    conv = await create_conversation(conn, a, b)
    await conn.execute("select set_config('role', 'none', true)")
    await conn.execute(
        "insert into public.messages (conversation_id, sender_id, content)"
        " select %s, %s, 'bulk ' || g from generate_series(1, 3000) g",
        (conv, a.id),
    )
    await conn.execute("analyze public.messages")
    cur = await conn.execute(
        "select created_at, id from public.messages where conversation_id = %s"
        " order by created_at desc, id desc offset 2500 limit 1",
        (conv,),
    )
    deep = await cur.fetchone()
    assert deep is not None
    async with acting_as(conn, a, as_api_user=True):
        cur = await conn.execute(
            "explain (format json) select m.id from public.messages m"
            " where m.conversation_id = %s and (m.created_at, m.id) < (%s, %s)"
            " order by m.created_at desc, m.id desc limit 51",
            (conv, deep["created_at"], deep["id"]),
        )
        row = await cur.fetchone()
    assert row is not None
    plan = json.dumps(row["QUERY PLAN"])
    # The cursor bound is part of the index condition (a seek), not a filter over skipped rows.
    assert "messages_conversation_created_idx" in plan
    index_cond = [n for n in _nodes(row["QUERY PLAN"][0]["Plan"]) if "Index Cond" in n]
    assert any("created_at" in n["Index Cond"] for n in index_cond), plan
    assert "Sort" not in [n["Node Type"] for n in _nodes(row["QUERY PLAN"][0]["Plan"])]


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for child in plan.get("Plans", []):
        out += _nodes(child)
    return out
