"""Rows the cleanup cron acts on, inserted as the test's owner role (setup, like other factories)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from shared.db import Conn
from tests.factories.users import as_owner


async def _one(conn: Conn, sql: str, params: tuple[Any, ...]) -> dict[str, Any]:
    await as_owner(conn)
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def organization(conn: Conn) -> uuid.UUID:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    row = await _one(conn, "insert into public.organizations (name, slug) values (%s, %s) returning id", (slug, slug))
    return uuid.UUID(str(row["id"]))


async def invitation(conn: Conn, org_id: uuid.UUID, *, expires_in: timedelta, status: str = "pending") -> uuid.UUID:
    row = await _one(
        conn,
        "insert into public.invitations (organization_id, email, expires_at) values (%s, %s, now() + %s) returning id",
        (org_id, f"{uuid.uuid4().hex[:10]}@example.test", expires_in),
    )
    if status != "pending":
        await conn.execute("update public.invitations set status = %s where id = %s", (status, row["id"]))
    return uuid.UUID(str(row["id"]))


async def invitation_status(conn: Conn, invitation_id: uuid.UUID) -> str:
    row = await _one(conn, "select status from public.invitations where id = %s", (invitation_id,))
    return str(row["status"])


async def rate_limit_window(conn: Conn, key: str, *, ends_in: timedelta) -> None:
    await as_owner(conn)
    await conn.execute(
        "insert into private.rate_limit_counters (key, window_start, expires_at, count)"
        " values (%s, now() + %s - interval '1 minute', now() + %s, 3)",
        (key, ends_in, ends_in),
    )


async def rate_limit_keys(conn: Conn) -> set[str]:
    await as_owner(conn)
    cur = await conn.execute("select key from private.rate_limit_counters")
    return {str(r["key"]) for r in await cur.fetchall()}


async def export_row(conn: Conn, path: str, *, expires_in: timedelta) -> uuid.UUID:
    row = await _one(
        conn,
        "insert into public.exports (path, format, size, row_count, expires_at) values (%s, 'csv', 10, 1, now() + %s)"
        " returning id",
        (path, expires_in),
    )
    return uuid.UUID(str(row["id"]))


async def export_paths(conn: Conn) -> set[str]:
    await as_owner(conn)
    cur = await conn.execute("select path from public.exports")
    return {str(r["path"]) for r in await cur.fetchall()}


async def notification(conn: Conn, user_id: uuid.UUID, *, age: timedelta, read: bool) -> uuid.UUID:
    row = await _one(
        conn,
        "insert into public.notifications (user_id, type, title, created_at, read_at)"
        " values (%s, 'gig_update', 'Your gig changed', now() - %s, case when %s then now() - %s end) returning id",
        (user_id, age, read, age),
    )
    return uuid.UUID(str(row["id"]))


async def notification_ids(conn: Conn) -> set[uuid.UUID]:
    await as_owner(conn)
    cur = await conn.execute("select id from public.notifications")
    return {uuid.UUID(str(r["id"])) for r in await cur.fetchall()}


async def stripe_event(conn: Conn, event_id: str, *, age: timedelta) -> None:
    await as_owner(conn)
    await conn.execute(
        "insert into public.stripe_events (id, type, created, received_at, processed_at)"
        " values (%s, 'invoice.paid', now() - %s, now() - %s, now() - %s)",
        (event_id, age, age, age),
    )


async def stripe_event_ids(conn: Conn) -> set[str]:
    await as_owner(conn)
    cur = await conn.execute("select id from public.stripe_events")
    return {str(r["id"]) for r in await cur.fetchall()}


async def monthly_posts(conn: Conn, user_id: uuid.UUID, *, months_ago: int) -> None:
    await as_owner(conn)
    await conn.execute(
        "insert into private.monthly_post_counts (user_id, month, posts)"
        " values (%s, (date_trunc('month', now() at time zone 'UTC') - make_interval(months => %s))::date, 3)"
        " on conflict do nothing",
        (user_id, months_ago),
    )


async def monthly_post_months(conn: Conn, user_id: uuid.UUID) -> int:
    row = await _one(conn, "select count(*) as n from private.monthly_post_counts where user_id = %s", (user_id,))
    return int(row["n"])


async def gig(conn: Conn, poster_id: uuid.UUID) -> uuid.UUID:
    row = await _one(
        conn,
        "insert into public.gigs (poster_id, title, description, category, budget_type, status)"
        " values (%s, 'Label a data set', 'Label ten thousand images for a vision model, carefully.',"
        " 'ai-development', 'fixed', 'active') returning id",
        (poster_id,),
    )
    return uuid.UUID(str(row["id"]))


async def gig_view(conn: Conn, gig_id: uuid.UUID, viewer: str, *, counted: bool = False, days_ago: int = 0) -> None:
    await as_owner(conn)
    await conn.execute(
        "insert into private.gig_views (gig_id, viewer_key, counted, viewed_on)"
        " values (%s, %s, %s, (now() at time zone 'utc')::date - %s)",
        (gig_id, viewer, counted, days_ago),
    )


async def gig_views_count(conn: Conn, gig_id: uuid.UUID) -> int:
    row = await _one(conn, "select views_count from public.gigs where id = %s", (gig_id,))
    return int(row["views_count"])


async def video_call(
    conn: Conn,
    initiator: uuid.UUID,
    other: uuid.UUID,
    *,
    started: timedelta | None = None,
    scheduled: timedelta | None = None,
    ended: timedelta | None = None,
    reminded: bool = False,
) -> uuid.UUID:
    """A call with times relative to now (negative = in the past). Issue 4's insert trigger only
    accepts calls as they are created (starting now, or scheduled in the future), so this inserts
    past calls with triggers off for the one statement, then turns them back on for the test."""
    await as_owner(conn)
    await conn.execute("select set_config('session_replication_role', 'replica', true)")
    try:
        cur = await conn.execute(
            "insert into public.video_calls (initiator_id, participant_ids, started_at, scheduled_at, ended_at,"
            " reminder_sent_at, created_at) values (%s, %s, now() + %s, now() + %s, now() + %s,"
            " case when %s then now() - interval '1 minute' end, now() - interval '30 days') returning id",
            (initiator, sorted([initiator, other]), started, scheduled, ended, reminded),
        )
        row = await cur.fetchone()
    finally:
        await conn.execute("select set_config('session_replication_role', 'origin', true)")
    assert row is not None
    return uuid.UUID(str(row["id"]))


async def video_call_times(conn: Conn, call_id: uuid.UUID) -> dict[str, Any]:
    return await _one(
        conn,
        "select started_at, ended_at, reminder_sent_at, scheduled_at from public.video_calls where id = %s",
        (call_id,),
    )


async def call_reminders(conn: Conn, call_id: uuid.UUID) -> list[uuid.UUID]:
    await as_owner(conn)
    cur = await conn.execute(
        "select user_id from public.notifications where data ->> 'call_id' = %s and (data ->> 'reminder')::boolean"
        " order by user_id",
        (str(call_id),),
    )
    return [uuid.UUID(str(r["user_id"])) for r in await cur.fetchall()]


async def attachment(
    conn: Conn, owner_id: uuid.UUID, conversation_id: uuid.UUID, *, age: timedelta, message_id: uuid.UUID | None = None
) -> str:
    """An uploaded file's row, `age` old (the insert trigger stamps now(), hence triggers off for the
    one statement). Returns its storage path."""
    path = f"{owner_id}/{conversation_id}/{uuid.uuid4().hex}.pdf"
    await as_owner(conn)
    await conn.execute("select set_config('session_replication_role', 'replica', true)")
    try:
        await conn.execute(
            "insert into public.attachments (owner_id, conversation_id, message_id, path, name, content_type, size,"
            " created_at) values (%s, %s, %s, %s, 'brief.pdf', 'application/pdf', 4, now() - %s)",
            (owner_id, conversation_id, message_id, path, age),
        )
    finally:
        await conn.execute("select set_config('session_replication_role', 'origin', true)")
    return path


async def attachment_paths(conn: Conn) -> set[str]:
    await as_owner(conn)
    cur = await conn.execute("select path from public.attachments")
    return {str(r["path"]) for r in await cur.fetchall()}


async def gig_view_rows(conn: Conn, gig_id: uuid.UUID) -> list[tuple[str, bool]]:
    await as_owner(conn)
    cur = await conn.execute(
        "select viewer_key, counted from private.gig_views where gig_id = %s order by viewer_key", (gig_id,)
    )
    return [(str(r["viewer_key"]), bool(r["counted"])) for r in await cur.fetchall()]
