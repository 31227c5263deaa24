"""Conversations, messages, gigs with a hired freelancer, calls: set up as the owner role (as a
trusted writer would), so tests then act as the real roles on top of them."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from shared.db import Conn
from tests.factories.users import TestUser

_seq = itertools.count(1)


async def _as_owner(conn: Conn) -> None:
    await conn.execute("select set_config('role', 'none', true), set_config('request.jwt.claims', '', true)")


async def create_conversation(conn: Conn, *people: TestUser, gig_id: uuid.UUID | None = None) -> uuid.UUID:
    async with conn.transaction():
        await _as_owner(conn)
        cur = await conn.execute(
            "insert into public.conversations (participant_ids, gig_id) values (%s, %s) returning id",
            ([p.id for p in people], gig_id),
        )
        row = await cur.fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


async def add_message(
    conn: Conn, conversation_id: uuid.UUID, sender: TestUser, content: str | None = None
) -> uuid.UUID:
    async with conn.transaction():
        await _as_owner(conn)
        cur = await conn.execute(
            "insert into public.messages (conversation_id, sender_id, content) values (%s, %s, %s) returning id",
            (conversation_id, sender.id, content or f"message {next(_seq)}"),
        )
        row = await cur.fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


async def create_gig(conn: Conn, poster: TestUser, *, status: str = "active", **overrides: Any) -> uuid.UUID:
    values: dict[str, Any] = {
        "poster_id": poster.id,
        "title": f"Build an AI helper #{next(_seq)}",
        "description": "A description that is long enough to be a real gig description.",
        "category": "other",
        "budget_type": "fixed",
        "budget_min": 100,
        "budget_max": 500,
        "status": status,
        **overrides,
    }
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({c})s" for c in values)
    async with conn.transaction():
        await _as_owner(conn)
        cur = await conn.execute(f"insert into public.gigs ({columns}) values ({placeholders}) returning id", values)
        row = await cur.fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


async def create_application(
    conn: Conn, gig_id: uuid.UUID, applicant: TestUser, *, status: str = "pending"
) -> uuid.UUID:
    async with conn.transaction():
        await _as_owner(conn)
        cur = await conn.execute(
            "insert into public.applications (gig_id, applicant_id, cover_letter) values (%s, %s, %s) returning id",
            (gig_id, applicant.id, "I have built many of these and would love to help with yours."),
        )
        row = await cur.fetchone()
        assert row is not None
        if status != "pending":
            await conn.execute("update public.applications set status = %s where id = %s", (status, row["id"]))
    return uuid.UUID(str(row["id"]))


async def set_gig_status(conn: Conn, gig_id: uuid.UUID, status: str) -> None:
    async with conn.transaction():
        await _as_owner(conn)
        await conn.execute("update public.gigs set status = %s where id = %s", (status, gig_id))


async def hired_gig(conn: Conn, poster: TestUser, freelancer: TestUser, *, final_status: str = "filled") -> uuid.UUID:
    """A gig whose poster accepted the freelancer's application, then moved to final_status."""
    gig_id = await create_gig(conn, poster)
    await create_application(conn, gig_id, freelancer, status="accepted")
    if final_status != "active":
        await set_gig_status(conn, gig_id, final_status)
    return gig_id


async def create_call(
    conn: Conn, initiator: TestUser, other: TestUser, *, scheduled_at: datetime | None = None
) -> uuid.UUID:
    async with conn.transaction():
        await _as_owner(conn)
        cur = await conn.execute(
            "insert into public.video_calls (initiator_id, participant_ids, scheduled_at) values (%s, %s, %s)"
            " returning id",
            (initiator.id, [other.id], scheduled_at),
        )
        row = await cur.fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


async def notifications_of(conn: Conn, user: TestUser, type_: str | None = None) -> list[dict[str, Any]]:
    async with conn.transaction():
        await _as_owner(conn)
        cur = await conn.execute(
            "select * from public.notifications where user_id = %s and (%s::text is null or type = %s)"
            " order by created_at, id",
            (user.id, type_, type_),
        )
        return list(await cur.fetchall())
