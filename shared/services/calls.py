"""Video calls: instant or scheduled, between the caller and one other person; endCall by a participant."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from shared.config import get_settings
from shared.db import Conn
from shared.errors import NotFound
from shared.models.calls import CallCreate, VideoCall

_COLUMNS = (
    "v.id, v.room_id, v.initiator_id, v.participant_ids, v.gig_id, v.application_id, v.scheduled_at,"
    " v.started_at, v.ended_at, v.created_at"
)

# Upcoming: not ended, and either scheduled from now on or already started. History: everything else
# (ended, or scheduled in the past and never started).
_UPCOMING = "v.ended_at is null and (v.started_at is not null or v.scheduled_at >= now())"


def join_url(room_id: str) -> str:
    return get_settings().video_call_base_url.rstrip("/") + "/" + room_id


def _call(row: dict[str, Any]) -> VideoCall:
    return VideoCall.model_validate({**row, "join_url": join_url(row["room_id"])})


async def create(conn: Conn, body: CallCreate) -> VideoCall:
    if body.gig_id is not None:
        cur = await conn.execute("select 1 from public.gigs g where g.id = %s", (body.gig_id,))
        if await cur.fetchone() is None:
            raise NotFound("Gig not found")
    if body.application_id is not None:
        cur = await conn.execute("select 1 from public.applications a where a.id = %s", (body.application_id,))
        if await cur.fetchone() is None:
            raise NotFound("Application not found")
    cur = await conn.execute(
        f"""insert into public.video_calls as v (initiator_id, participant_ids, gig_id, application_id, scheduled_at)
            values ((select auth.uid()), %s, %s, %s, %s) returning {_COLUMNS}""",
        ([body.participant_id], body.gig_id, body.application_id, body.scheduled_at),
    )
    row = await cur.fetchone()
    assert row is not None
    return _call(row)


async def list_for_caller(conn: Conn, which: Literal["upcoming", "history"], limit: int) -> list[VideoCall]:
    if which == "upcoming":
        where, order = _UPCOMING, "coalesce(v.scheduled_at, v.started_at) asc, v.id"
    else:
        where, order = f"not ({_UPCOMING})", "coalesce(v.ended_at, v.scheduled_at, v.created_at) desc, v.id"
    # The caller's calls through the GIN index (private.call_ids_for_caller), then filtered by time.
    cur = await conn.execute(
        f"""select {_COLUMNS} from public.video_calls v
            where v.id = any(array(select private.call_ids_for_caller())) and {where}
            order by {order} limit %s""",
        (limit,),
    )
    return [_call(r) for r in await cur.fetchall()]


async def end(conn: Conn, call_id: UUID) -> VideoCall:
    """Idempotent: a second end keeps the first ended_at (trigger). Non-participants: NOT_FOUND."""
    cur = await conn.execute(
        f"update public.video_calls v set ended_at = now() where v.id = %s returning {_COLUMNS}", (call_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Call not found")
    return _call(row)
