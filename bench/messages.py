"""(2) Message history and the conversation list through the services' own SQL
(shared.services.messages.list_page, shared.services.conversations.list_for_caller), as a participant
under RLS: page 1 against page 2,000 of a 100,000-message conversation, and getConversations for a
user in 1,000 conversations."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.common import Interleaved, ratio, summary
from bench.generate import HOT_MESSAGES, conversation_id, uid
from shared.services import conversations, messages

_CONTEXT = "select set_config('role', 'api_user', true), set_config('request.jwt.claims', %s, true)"
PAGE_SIZE = 50
DEEP_PAGE = 2_000


async def run(url: str, rounds: int) -> dict[str, Any]:
    from uuid import UUID

    claims = json.dumps({"sub": uid(1), "role": "authenticated", "aud": "authenticated"})
    hot = UUID(conversation_id(1))
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row, prepare_threshold=None)
    # The cursor a client holds after reading 1,999 pages: the last message of page 1,999.
    cur = await conn.execute(
        "select created_at, id from public.messages where conversation_id = %s"
        " order by created_at desc, id desc offset %s limit 1",
        (hot, (DEEP_PAGE - 1) * PAGE_SIZE - 1),
    )
    row = await cur.fetchone()
    assert row is not None, "the hot conversation is shorter than 2,000 pages"
    deep_cursor = messages.encode_cursor(row["created_at"], row["id"])
    seen: dict[str, int] = {}

    def history(cursor: str | None, name: str) -> Any:
        async def call() -> None:
            async with conn.transaction():
                await conn.execute(_CONTEXT, (claims,))
                page = await messages.list_page(conn, hot, cursor=cursor, limit=PAGE_SIZE)
                seen[name] = len(page.items)

        return call

    async def conversation_list() -> None:
        async with conn.transaction():
            await conn.execute(_CONTEXT, (claims,))
            _, total = await conversations.list_for_caller(conn, page=1, limit=20)
            seen["conversations_total"] = total

    pages = await Interleaved({"page_1": history(None, "page_1"), "page_2000": history(deep_cursor, "page_2000")}).run(
        rounds
    )
    listing = await Interleaved({"list": conversation_list}).run(rounds)
    await conn.close()
    p1, deep = summary(pages["page_1"]), summary(pages["page_2000"])
    return {
        "conversation_messages": HOT_MESSAGES,
        "page_size": PAGE_SIZE,
        "page_1": p1,
        "page_2000": deep,
        "items_on_page_2000": seen.get("page_2000"),
        "deep_over_first_ratio_p50": ratio(deep["p50_ms"], p1["p50_ms"]),
        "get_conversations": {**summary(listing["list"]), "user_conversations": seen.get("conversations_total")},
        "targets": {"deep_ratio": 1.2, "get_conversations_p95_ms": 25},
    }
