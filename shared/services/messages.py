"""Messages: keyset-paginated history, sending (with previously uploaded attachments), read state.

History order is (created_at, id) descending. created_at is assigned by the insert trigger after it
locks the conversation row, so within a conversation timestamps grow in commit order: a page
strictly older than the cursor can never miss a message that existed when the walk began, and new
messages only ever appear above page 1 (see 20261121200000_messaging.sql).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.db import Conn
from shared.errors import NotFound, ValidationFailed
from shared.models.messaging import MessageCreate, ReadState
from shared.services.conversations import require_participant


@dataclass
class StoredMessage:
    """A message as the database holds it; attachments still carry storage paths (signed later)."""

    id: UUID
    conversation_id: UUID
    sender_id: UUID
    content: str
    created_at: datetime
    attachments: list[dict[str, Any]]
    read_by: list[UUID] = field(default_factory=list)


@dataclass
class MessagePage:
    items: list[StoredMessage]
    next_cursor: str | None
    has_more: bool


def encode_cursor(created_at: datetime, message_id: UUID) -> str:
    raw = f"{created_at.isoformat()}|{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        return created_at, UUID(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValidationFailed.field("cursor", "This cursor is not valid") from exc


_ATTACHMENTS_JSON = """
  (select coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'name', a.name, 'content_type', a.content_type,
                                                'size', a.size, 'path', a.path) order by a.created_at, a.id),
                   '[]'::jsonb)
     from public.attachments a where a.message_id = m.id) as attachments
"""


def _stored(row: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        conversation_id=row["conversation_id"],
        sender_id=row["sender_id"],
        content=row["content"],
        created_at=row["created_at"],
        attachments=list(row["attachments"] or []),
    )


async def _apply_read_by(conn: Conn, conversation_id: UUID, items: list[StoredMessage]) -> None:
    """read_by derives from each participant's last_read_at (the sender has read their own)."""
    cur = await conn.execute(
        "select user_id, last_read_at from public.conversation_participants where conversation_id = %s",
        (conversation_id,),
    )
    readers = [(r["user_id"], r["last_read_at"]) for r in await cur.fetchall()]
    for item in items:
        item.read_by = [
            uid for uid, at in readers if uid == item.sender_id or (at is not None and at >= item.created_at)
        ]


async def list_page(conn: Conn, conversation_id: UUID, *, cursor: str | None, limit: int) -> MessagePage:
    await require_participant(conn, conversation_id)
    params: list[Any] = [conversation_id]
    older = ""
    if cursor:
        created_at, message_id = decode_cursor(cursor)
        older = " and (m.created_at, m.id) < (%s, %s)"
        params += [created_at, message_id]
    params.append(limit + 1)
    cur = await conn.execute(
        f"""select m.id, m.conversation_id, m.sender_id, m.content, m.created_at, {_ATTACHMENTS_JSON}
            from public.messages m
            where m.conversation_id = %s{older}
            order by m.created_at desc, m.id desc
            limit %s""",
        params,
    )
    rows = await cur.fetchall()
    has_more = len(rows) > limit
    items = [_stored(r) for r in rows[:limit]]
    await _apply_read_by(conn, conversation_id, items)
    last = items[-1] if items else None
    next_cursor = encode_cursor(last.created_at, last.id) if has_more and last else None
    return MessagePage(items=items, next_cursor=next_cursor, has_more=has_more)


async def send(conn: Conn, conversation_id: UUID, body: MessageCreate) -> StoredMessage:
    """Inserts the message and claims its attachments in the caller's transaction: all or nothing."""
    cur = await conn.execute(
        "insert into public.messages (conversation_id, sender_id, content) values (%s, (select auth.uid()), %s)"
        " returning id, conversation_id, sender_id, content, created_at, '[]'::jsonb as attachments",
        (conversation_id, body.content),
    )
    row = await cur.fetchone()
    assert row is not None
    message = _stored(row)
    if body.attachments:
        cur = await conn.execute(
            "update public.attachments set message_id = %s"
            " where id = any(%s) and conversation_id = %s and message_id is null"
            " returning id, name, content_type, size, path, created_at",
            (message.id, body.attachments, conversation_id),
        )
        claimed = sorted(await cur.fetchall(), key=lambda r: (r["created_at"], r["id"]))
        if len(claimed) != len(body.attachments):
            # Not the caller's, not in this conversation, already used, or unknown: one answer for all.
            raise ValidationFailed.field("attachments", "Attachments must be your own unused uploads to this chat")
        message.attachments = [dict(r) for r in claimed]
    message.read_by = [message.sender_id]
    return message


async def mark_read(conn: Conn, conversation_id: UUID) -> ReadState:
    """Everything the caller can see in the conversation now becomes read: last_read_at moves to the
    last committed message's time (an in-flight message, not yet visible, stays unread)."""
    cur = await conn.execute(
        """update public.conversation_participants cp
              set last_read_at = greatest(coalesce(cp.last_read_at, '-infinity'), c.last_message_at)
             from public.conversations c
            where c.id = cp.conversation_id and cp.conversation_id = %s and cp.user_id = (select auth.uid())
        returning cp.conversation_id, cp.last_read_at""",
        (conversation_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Conversation not found")
    # The conversation's new_message notification has served its purpose.
    await conn.execute(
        """update public.notifications n set read_at = now()
            where n.user_id = (select auth.uid()) and n.read_at is null and n.type = 'new_message'
              and (n.data ->> 'conversation_id') = %s""",
        (str(conversation_id),),
    )
    return ReadState.model_validate(row)
