"""Conversations: get-or-create (one per participant set and gig, also under concurrency) and the
caller's list with previews, in one query."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Conn
from shared.errors import NotFound
from shared.models.messaging import Conversation, ConversationCreate, ConversationPreview, LastMessage

_PARTICIPANTS_JSON = """
  (select coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'username', p.username, 'full_name', p.full_name,
                                                'avatar_url', p.avatar_url) order by p.username), '[]'::jsonb)
     from public.profiles p where p.id = any(c.participant_ids) and p.id <> (select auth.uid()))
"""

_CONVERSATION_SELECT = f"""
select c.id, c.participant_ids, c.gig_id, c.last_message_at, c.created_at, c.updated_at,
       {_PARTICIPANTS_JSON} as participants
from public.conversations c
"""


async def get(conn: Conn, conversation_id: UUID) -> Conversation:
    """The conversation if the caller takes part in it (RLS), else NOT_FOUND."""
    cur = await conn.execute(_CONVERSATION_SELECT + " where c.id = %s", (conversation_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Conversation not found")
    return Conversation.model_validate(row)


async def require_participant(conn: Conn, conversation_id: UUID) -> None:
    cur = await conn.execute("select 1 from public.conversations c where c.id = %s", (conversation_id,))
    if await cur.fetchone() is None:
        raise NotFound("Conversation not found")


async def get_or_create(conn: Conn, user_id: UUID, body: ConversationCreate) -> tuple[Conversation, bool]:
    """(conversation, created). The unique context key makes concurrent callers converge on one row:
    a second insert waits for the first to commit, then does nothing, and the select finds the row."""
    if body.gig_id is not None:
        cur = await conn.execute("select 1 from public.gigs g where g.id = %s", (body.gig_id,))
        if await cur.fetchone() is None:
            raise NotFound("Gig not found")
    cur = await conn.execute(
        "insert into public.conversations (participant_ids, gig_id) values (%s, %s)"
        " on conflict (context_key) do nothing",
        ([user_id, body.participant_id], body.gig_id),
    )
    created = cur.rowcount == 1
    ids = sorted({str(user_id), str(body.participant_id)})
    key = ",".join(ids) + ":" + (str(body.gig_id) if body.gig_id else "")
    cur = await conn.execute(_CONVERSATION_SELECT + " where c.context_key = %s", (key,))
    row = await cur.fetchone()
    if row is None:  # pragma: no cover - the insert or the conflicting row guarantees one
        raise NotFound("Conversation not found")
    return Conversation.model_validate(row), created


# One statement for the whole list. The page of the caller's conversations is chosen first (index on
# conversation_participants.user_id, then a sort of the caller's conversations by activity); only
# those rows then get the other participants, the last message (index (conversation_id, created_at
# desc, id desc), one row) and the caller's unread count (same index, messages newer than their
# last_read_at): the cost follows the page size, not the number of conversations.
_LIST_SQL = f"""
with page as (
  select c.id, c.participant_ids, c.gig_id, c.last_message_at, c.created_at, c.updated_at,
         me.last_read_at, me.user_id
  from public.conversation_participants me
  join public.conversations c on c.id = me.conversation_id
  where me.user_id = (select auth.uid())
  order by c.last_message_at desc, c.id desc
  limit %s offset %s
)
select c.id, c.participant_ids, c.gig_id, c.last_message_at, c.created_at, c.updated_at,
       {_PARTICIPANTS_JSON} as participants,
       lm.last_message,
       (select count(*) from public.messages m
         where m.conversation_id = c.id and m.created_at > coalesce(c.last_read_at, '-infinity')
           and m.sender_id <> c.user_id)::int as unread_count
from page c
left join lateral (
  select jsonb_build_object('id', m.id, 'content', left(m.content, 200), 'sender_id', m.sender_id,
                            'created_at', m.created_at) as last_message
  from public.messages m where m.conversation_id = c.id
  order by m.created_at desc, m.id desc limit 1
) lm on true
order by c.last_message_at desc, c.id desc
"""


async def list_for_caller(conn: Conn, *, page: int, limit: int) -> tuple[list[ConversationPreview], int]:
    cur = await conn.execute(_LIST_SQL, (limit, (page - 1) * limit))
    rows = await cur.fetchall()
    return [_preview(row) for row in rows], await _count(conn)


async def _count(conn: Conn) -> int:
    cur = await conn.execute(
        "select count(*) as n from public.conversation_participants where user_id = (select auth.uid())"
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


def _preview(row: dict[str, Any]) -> ConversationPreview:
    last = row.get("last_message")
    return ConversationPreview.model_validate(
        {**row, "last_message": LastMessage.model_validate(last) if last else None}
    )
