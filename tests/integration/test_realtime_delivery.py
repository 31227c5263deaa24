"""Realtime delivery rules without a Realtime server: the tables are in the publication, a committed
message is decoded from it through logical decoding (pgoutput, as Realtime reads it), the
per-subscriber visibility check passes only for those who may see the row, and the typing channel's
Broadcast policies admit participants only."""

from __future__ import annotations

import json
import struct
import uuid
from dataclasses import dataclass, field

import psycopg
import pytest

from shared.db import Conn
from tests.factories.messaging import add_message, create_conversation, notifications_of
from tests.factories.users import TestUser, acting_as, create_user


# ----------------------------------------------------------------------------------------------
# A minimal pgoutput (protocol 1) reader: Relation and Insert messages are all these tests need.
# ----------------------------------------------------------------------------------------------
@dataclass
class Relation:
    namespace: str
    name: str
    columns: list[str] = field(default_factory=list)


def _cstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\x00", pos)
    return buf[pos:end].decode(), end + 1


def decode_inserts(chunks: list[bytes]) -> list[tuple[str, dict[str, str | None]]]:
    relations: dict[int, Relation] = {}
    inserts: list[tuple[str, dict[str, str | None]]] = []
    for buf in chunks:
        kind = buf[:1]
        if kind == b"R":
            (relid,) = struct.unpack_from("!I", buf, 1)
            namespace, pos = _cstring(buf, 5)
            name, pos = _cstring(buf, pos)
            pos += 1  # replica identity setting
            (ncols,) = struct.unpack_from("!H", buf, pos)
            pos += 2
            rel = Relation(namespace, name)
            for _ in range(ncols):
                pos += 1  # flags
                col, pos = _cstring(buf, pos)
                pos += 8  # type oid, typmod
                rel.columns.append(col)
            relations[relid] = rel
        elif kind == b"I":
            (relid,) = struct.unpack_from("!I", buf, 1)
            assert buf[5:6] == b"N"
            (ncols,) = struct.unpack_from("!H", buf, 6)
            pos = 8
            values: list[str | None] = []
            for _ in range(ncols):
                tag = buf[pos : pos + 1]
                pos += 1
                if tag == b"t":
                    (length,) = struct.unpack_from("!I", buf, pos)
                    pos += 4
                    values.append(buf[pos : pos + length].decode())
                    pos += length
                else:  # 'n' null, 'u' unchanged toast
                    values.append(None)
            rel = relations[relid]
            inserts.append((f"{rel.namespace}.{rel.name}", dict(zip(rel.columns, values, strict=True))))
    return inserts


async def test_messages_and_notifications_are_in_the_publication(conn: Conn) -> None:
    cur = await conn.execute(
        "select schemaname || '.' || tablename as t from pg_publication_tables where pubname = 'supabase_realtime'"
    )
    tables = {r["t"] for r in await cur.fetchall()}
    assert {"public.messages", "public.notifications"} <= tables
    assert "public.conversations" not in tables  # the last_message_at bump is not broadcast


async def test_a_committed_message_is_decoded_from_the_publication(module_conn: Conn) -> None:
    sender, recipient = await create_user(module_conn), await create_user(module_conn)
    conv = await create_conversation(module_conn, sender, recipient)
    slot = f"ugig_test_{uuid.uuid4().hex[:12]}"
    await module_conn.execute("select pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
    try:
        async with module_conn.transaction():
            # The test cluster runs with synchronous_commit off; decoding reads only flushed WAL.
            await module_conn.execute(
                "select set_config('synchronous_commit', 'on', true),"
                " set_config('role', 'api_user', true), set_config('request.jwt.claims', %s, true)",
                (json.dumps(sender.claims),),
            )
            cur = await module_conn.execute(
                "insert into public.messages (conversation_id, sender_id, content)"
                " values (%s, %s, 'over the wire') returning id",
                (conv, sender.id),
            )
            row = await cur.fetchone()
            assert row is not None
            message_id = str(row["id"])
        cur = await module_conn.execute(
            "select data from pg_logical_slot_peek_binary_changes(%s, null, null,"
            " 'proto_version', '1', 'publication_names', 'supabase_realtime')",
            (slot,),
        )
        inserts = decode_inserts([bytes(r["data"]) for r in await cur.fetchall()])
    finally:
        await module_conn.execute("select pg_drop_replication_slot(%s)", (slot,))

    messages = [values for table, values in inserts if table == "public.messages"]
    assert len(messages) == 1
    assert messages[0]["id"] == message_id
    assert messages[0]["conversation_id"] == str(conv)
    assert messages[0]["content"] == "over the wire"
    # The new_message notification of the same transaction travels too, addressed to the recipient.
    notes = [values for table, values in inserts if table == "public.notifications"]
    assert [(n["user_id"], n["type"]) for n in notes] == [(str(recipient.id), "new_message")]
    # Tables outside the publication are not streamed.
    assert {table for table, _ in inserts} == {"public.messages", "public.notifications"}


async def _visible(conn: Conn, who: TestUser | str, table: str, row_id: object) -> bool:
    try:
        async with acting_as(conn, who):
            cur = await conn.execute(f"select 1 from public.{table} where id = %s", (row_id,))
            return await cur.fetchone() is not None
    except psycopg.errors.InsufficientPrivilege:
        return False


async def test_subscriber_visibility_check_admits_participants_only(conn: Conn) -> None:
    a, b, stranger = await create_user(conn), await create_user(conn), await create_user(conn)
    conv = await create_conversation(conn, a, b)
    message_id = await add_message(conn, conv, a, "hello b")
    assert await _visible(conn, a, "messages", message_id)
    assert await _visible(conn, b, "messages", message_id)
    assert not await _visible(conn, stranger, "messages", message_id)
    assert not await _visible(conn, "anon", "messages", message_id)

    [note] = await notifications_of(conn, b, "new_message")
    assert await _visible(conn, b, "notifications", note["id"])
    assert not await _visible(conn, a, "notifications", note["id"])
    assert not await _visible(conn, stranger, "notifications", note["id"])
    assert not await _visible(conn, "anon", "notifications", note["id"])


async def _typing(
    conn: Conn, who: TestUser | str, topic: str | None, *, extension: str = "broadcast"
) -> tuple[bool, bool]:
    """(may receive, may send) on `topic`, as Realtime checks them: the caller's role and claims with
    realtime.topic set, then a select of a channel message and an insert of one."""
    cur = await conn.execute(
        "insert into realtime.messages (topic, extension, event, payload, private)"
        " values (%s, %s, 'typing', '{}', true) returning id",
        (topic or "none", extension),
    )
    row = await cur.fetchone()
    assert row is not None
    async with acting_as(conn, who):
        await conn.execute("select set_config('realtime.topic', %s, true)", (topic or "",))
        cur = await conn.execute("select 1 from realtime.messages where id = %s", (row["id"],))
        receive = await cur.fetchone() is not None
    try:
        async with acting_as(conn, who):
            await conn.execute("select set_config('realtime.topic', %s, true)", (topic or "",))
            await conn.execute(
                "insert into realtime.messages (topic, extension, event, payload, private)"
                " values (%s, %s, 'typing', '{\"typing\": true}', true)",
                (topic or "none", extension),
            )
        send = True
    except psycopg.errors.InsufficientPrivilege:
        send = False
    return receive, send


async def test_typing_channel_admits_participants_only(conn: Conn) -> None:
    a, b, stranger = await create_user(conn), await create_user(conn), await create_user(conn)
    conv = await create_conversation(conn, a, b)
    topic = f"typing:{conv}"
    assert await _typing(conn, a, topic) == (True, True)
    assert await _typing(conn, b, topic) == (True, True)
    assert await _typing(conn, a, topic, extension="presence") == (True, True)
    assert await _typing(conn, stranger, topic) == (False, False)
    assert await _typing(conn, "anon", topic) == (False, False)
    # Only Broadcast and Presence: not other extensions on the same topic.
    assert await _typing(conn, a, topic, extension="postgres_changes") == (False, False)


@pytest.mark.parametrize(
    "topic",
    [
        "typing:not-a-uuid",
        "typing:",
        "typing",
        "chat:{conv}",
        "typing:{conv}x",
        " typing:{conv}",
        "typing:{conv}'; select 1",
        "typing:00000000-0000-0000-0000-000000000000",
        None,
    ],
)
async def test_malformed_or_foreign_topics_simply_do_not_match(conn: Conn, topic: str | None) -> None:
    a, b = await create_user(conn), await create_user(conn)
    conv = await create_conversation(conn, a, b)
    shown = topic.format(conv=conv) if topic is not None else None
    assert await _typing(conn, a, shown) == (False, False)
