"""The RLS matrix for issue 4's tables: who sees which rows (anon, the participant or owner, another
user, service_role), and that no client role writes directly while api_user writes only its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
import pytest

from shared.db import Conn
from tests.factories.messaging import (
    add_message,
    create_call,
    create_conversation,
    hired_gig,
    notifications_of,
)
from tests.factories.users import TestUser, acting_as, as_owner, create_user

TABLES = (
    "conversations",
    "conversation_participants",
    "messages",
    "attachments",
    "video_calls",
    "reviews",
    "notifications",
)


@dataclass
class World:
    a: TestUser  # participant, sender, uploader, caller, reviewer (poster)
    b: TestUser  # the other participant, reviewee (freelancer)
    stranger: TestUser
    conversation: uuid.UUID
    message: uuid.UUID
    attachment: uuid.UUID
    call: uuid.UUID
    review: uuid.UUID
    notification: uuid.UUID  # b's new_message notification


@pytest.fixture
async def world(conn: Conn) -> World:
    a, b, stranger = await create_user(conn), await create_user(conn), await create_user(conn)
    conv = await create_conversation(conn, a, b)
    message = await add_message(conn, conv, a, "hi")
    await as_owner(conn)
    cur = await conn.execute(
        "insert into public.attachments (owner_id, conversation_id, path, name, content_type, size)"
        " values (%s, %s, %s, 'a.png', 'image/png', 10) returning id",
        (a.id, conv, f"{a.id}/{conv}/x.png"),
    )
    att = await cur.fetchone()
    assert att is not None
    call = await create_call(conn, a, b)
    gig = await hired_gig(conn, a, b)
    cur = await conn.execute(
        "insert into public.reviews (gig_id, reviewer_id, reviewee_id, rating) values (%s, %s, %s, 5) returning id",
        (gig, a.id, b.id),
    )
    review = await cur.fetchone()
    assert review is not None
    [note] = await notifications_of(conn, b, "new_message")
    return World(a, b, stranger, conv, message, att["id"], call, review["id"], note["id"])


async def _count(conn: Conn, who: TestUser | str, table: str, where: str, *params: object) -> int | None:
    """Rows of `table` matching `where` that `who` can see; None when the role may not read at all."""
    try:
        async with acting_as(conn, who):
            cur = await conn.execute(f"select count(*) as n from public.{table} where {where}", params)
            row = await cur.fetchone()
            return int(row["n"]) if row else 0
    except psycopg.errors.InsufficientPrivilege:
        return None


async def test_read_matrix(conn: Conn, world: World) -> None:
    w = world
    cases: dict[str, tuple[str, tuple[object, ...], dict[str, int | None]]] = {
        # table: (where, params, {actor: expected visible rows})
        "conversations": ("id = %s", (w.conversation,), {"a": 1, "b": 1, "stranger": 0, "anon": None}),
        "conversation_participants": (
            "conversation_id = %s",
            (w.conversation,),
            {"a": 2, "b": 2, "stranger": 0, "anon": None},
        ),
        "messages": ("id = %s", (w.message,), {"a": 1, "b": 1, "stranger": 0, "anon": None}),
        "attachments": ("id = %s", (w.attachment,), {"a": 1, "b": 1, "stranger": 0, "anon": None}),
        "video_calls": ("id = %s", (w.call,), {"a": 1, "b": 1, "stranger": 0, "anon": None}),
        "reviews": ("id = %s", (w.review,), {"a": 1, "b": 1, "stranger": 1, "anon": 1}),
        "notifications": ("id = %s", (w.notification,), {"a": 0, "b": 1, "stranger": 0, "anon": None}),
    }
    actors: dict[str, TestUser | str] = {"a": w.a, "b": w.b, "stranger": w.stranger, "anon": "anon"}
    for table, (where, params, expected) in cases.items():
        for name, want in expected.items():
            got = await _count(conn, actors[name], table, where, *params)
            assert got == want, f"{table} as {name}: {got} != {want}"
        assert await _count(conn, "service_role", table, where, *params) == max(
            v for v in expected.values() if v is not None
        )


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("role", ["anon", "authenticated"])
async def test_client_roles_cannot_write(conn: Conn, world: World, table: str, role: str) -> None:
    who: TestUser | str = world.a if role == "authenticated" else "anon"
    for statement in (
        f"delete from public.{table}",
        f"update public.{table} set created_at = created_at"
        if table != "conversation_participants"
        else f"update public.{table} set last_read_at = now()",
        f"insert into public.{table} default values",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            async with acting_as(conn, who):
                await conn.execute(statement)


async def _api(conn: Conn, who: TestUser, sql: str, *params: object) -> int:
    async with acting_as(conn, who, as_api_user=True):
        cur = await conn.execute(sql, params)
        return cur.rowcount


async def test_api_user_writes_only_its_own(conn: Conn, world: World) -> None:
    w = world
    # Messages: a stranger cannot post into the conversation, nor speak as someone else.
    with pytest.raises(psycopg.DatabaseError) as err:
        await _api(
            conn, w.stranger, "insert into public.messages (conversation_id, content) values (%s, 'x')", w.conversation
        )
    assert err.value.sqlstate == "UG404"
    async with acting_as(conn, w.b, as_api_user=True):
        cur = await conn.execute(
            "insert into public.messages (conversation_id, sender_id, content) values (%s, %s, 'x')"
            " returning sender_id",
            (w.conversation, w.a.id),
        )
        row = await cur.fetchone()
        assert row is not None and row["sender_id"] == w.b.id  # the trigger pins the sender
    # Read state: only one's own row.
    assert await _api(conn, w.stranger, "update public.conversation_participants set last_read_at = now()") == 0
    assert await _api(conn, w.b, "update public.conversation_participants set last_read_at = now()") == 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await _api(conn, w.b, "update public.conversation_participants set joined_at = now()")
    # Conversations: none that leave the caller out.
    with pytest.raises(psycopg.DatabaseError, match="you take part in"):
        await _api(conn, w.stranger, "insert into public.conversations (participant_ids) values (%s)", [w.a.id, w.b.id])
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await _api(conn, w.a, "update public.conversations set last_message_at = now()")
    # Attachments: not into others' conversations, not claiming others' uploads.
    with pytest.raises(psycopg.DatabaseError, match="Conversation not found"):
        await _api(
            conn,
            w.stranger,
            "insert into public.attachments (conversation_id, path, name, content_type, size)"
            " values (%s, %s, 'x.png', 'image/png', 1)",
            w.conversation,
            f"{w.stranger.id}/{w.conversation}/y.png",
        )
    with pytest.raises(psycopg.DatabaseError, match="your own folder"):
        await _api(
            conn,
            w.a,
            "insert into public.attachments (conversation_id, path, name, content_type, size)"
            " values (%s, %s, 'x.png', 'image/png', 1)",
            w.conversation,
            f"{w.b.id}/{w.conversation}/y.png",
        )
    assert await _api(conn, w.b, "update public.attachments set message_id = %s", w.message) == 0
    # Calls: only participants end them; nothing else of a call changes.
    assert await _api(conn, w.stranger, "update public.video_calls set ended_at = now()") == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await _api(conn, w.a, "update public.video_calls set room_id = 'guess'")
    # Notifications: only one's own, only read_at.
    assert await _api(conn, w.a, "update public.notifications set read_at = now() where id = %s", w.notification) == 0
    assert await _api(conn, w.b, "update public.notifications set read_at = now() where id = %s", w.notification) == 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await _api(conn, w.b, "update public.notifications set title = 'x' where id = %s", w.notification)
    # Reviews: never edited or deleted through the API role.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await _api(conn, w.a, "update public.reviews set rating = 1")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        await _api(conn, w.a, "delete from public.reviews")


async def test_stale_unsent_attachments_are_taken_by_the_cron_only(conn: Conn, world: World) -> None:
    await as_owner(conn)
    await conn.execute("select set_config('session_replication_role', 'replica', true)")  # setup: skip triggers
    await conn.execute(
        "update public.attachments set created_at = now() - interval '2 days' where id = %s", (world.attachment,)
    )
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        async with acting_as(conn, world.a, as_api_user=True):
            await conn.execute("select * from private.take_stale_attachments()")
    async with acting_as(conn, "service_role"):
        cur = await conn.execute("select id, path from private.take_stale_attachments()")
        taken = await cur.fetchall()
        assert [r["id"] for r in taken] == [world.attachment]
        assert taken[0]["path"].startswith(f"{world.a.id}/{world.conversation}/")
