"""The cleanup cron's tasks: each a named, idempotent async function returning how many rows it
handled, built from bounded statements (`run_batched`). shared/services/cleanup.py runs them.

Each statement picks at most %(limit)s rows with `for update skip locked`: a row a request holds
right now is left for the next run instead of making the cron wait on it (or it on the cron).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.config import Settings
from shared.db import Database
from shared.providers.storage import get_storage
from shared.services.exports import EXPORT_BUCKET

# A batched statement runs at most this many times per run; the rest waits for the next run.
MAX_BATCHES = 50

TaskRun = Callable[[Database, Settings], Awaitable[int]]


@dataclass(frozen=True)
class Task:
    name: str
    run: TaskRun


async def run_batched(
    db: Database,
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    batch_size: int,
    max_batches: int = MAX_BATCHES,
) -> int:
    """Runs `sql` (which takes `%(limit)s` and touches at most that many rows) until it touches
    fewer than a full batch; each run is its own transaction. Returns the rows touched: the
    statement's row count, or its single column `n` when it calls a function that counts."""
    total = 0
    for _ in range(max_batches):
        async with db.service_tx() as conn:
            cur = await conn.execute(sql, {**(params or {}), "limit": batch_size})
            if cur.description is not None and [c.name for c in cur.description] == ["n"]:
                row = await cur.fetchone()
                touched = int(row["n"]) if row else 0
            else:
                touched = max(cur.rowcount, 0)
        total += touched
        if touched < batch_size:
            break
    return total


_EXPIRE_INVITATIONS = """
with due as (
  select i.id from public.invitations i
  where i.status = 'pending' and i.expires_at <= now()
  order by i.expires_at
  limit %(limit)s
  for update skip locked
)
update public.invitations i set status = 'expired' from due where i.id = due.id
"""


async def expire_invitations(db: Database, settings: Settings) -> int:
    """Pending invitations past their expiry become `expired` (accepting one was already refused)."""
    return await run_batched(db, _EXPIRE_INVITATIONS, batch_size=settings.cleanup_batch_size)


async def purge_rate_limit_windows(db: Database, settings: Settings) -> int:
    """Counters of rate-limit windows that have ended count nothing any more."""
    return await run_batched(
        db, "select private.cleanup_rate_limit_counters(%(limit)s) as n", batch_size=settings.cleanup_batch_size
    )


_EXPIRED_EXPORTS = """
select e.id, e.path from public.exports e where e.expires_at < now() order by e.expires_at limit %(limit)s
"""


async def delete_expired_exports(db: Database, settings: Settings) -> int:
    """Expired export files leave storage first, then their rows: if storage fails, the rows stay
    and the next run tries again; a file already gone is not an error. No transaction stays open
    across the storage call."""
    storage = get_storage(settings)
    deleted = 0
    for _ in range(MAX_BATCHES):
        async with db.service_tx() as conn:
            cur = await conn.execute(_EXPIRED_EXPORTS, {"limit": settings.cleanup_batch_size})
            rows = await cur.fetchall()
        if not rows:
            break
        await storage.delete(EXPORT_BUCKET, [str(r["path"]) for r in rows])
        async with db.service_tx() as conn:
            cur = await conn.execute(
                "delete from public.exports where id = any(%s) and expires_at < now()", ([r["id"] for r in rows],)
            )
            deleted += max(cur.rowcount, 0)
        if len(rows) < settings.cleanup_batch_size:
            break
    return deleted


ATTACHMENTS_BUCKET = "attachments"
# Long enough to write and send the message the file was uploaded for.
UNSENT_ATTACHMENT_HOURS = 24


async def delete_unsent_attachments(db: Database, settings: Settings) -> int:
    """Attachments uploaded but never sent with a message: rows first, in the same statement that
    checks they are still unclaimed (issue 4's function), so a message sent at that moment either
    claims its file or finds it gone, never a message pointing at a deleted file; then the files."""
    storage = get_storage(settings)
    deleted = 0
    for _ in range(MAX_BATCHES):
        async with db.service_tx() as conn:
            cur = await conn.execute(
                "select path from private.take_stale_attachments(make_interval(hours => %s), %s)",
                (UNSENT_ATTACHMENT_HOURS, settings.cleanup_batch_size),
            )
            paths = [str(r["path"]) for r in await cur.fetchall()]
        if paths:
            await storage.delete(ATTACHMENTS_BUCKET, paths)
        deleted += len(paths)
        if len(paths) < settings.cleanup_batch_size:
            break
    return deleted


NOTIFICATION_RETENTION_DAYS = 90
_DELETE_READ_NOTIFICATIONS = """
with doomed as (
  select n.id from public.notifications n
  where n.read_at is not null and n.created_at < now() - make_interval(days => %(days)s)
  order by n.created_at
  limit %(limit)s
  for update skip locked
)
delete from public.notifications n using doomed where n.id = doomed.id
"""


async def delete_read_notifications(db: Database, settings: Settings) -> int:
    """Read notifications older than 90 days; unread ones stay whatever their age."""
    return await run_batched(
        db,
        _DELETE_READ_NOTIFICATIONS,
        {"days": NOTIFICATION_RETENTION_DAYS},
        batch_size=settings.cleanup_batch_size,
    )


# Stripe retries an event for up to 3 days; a record only serves to drop duplicate deliveries.
STRIPE_EVENT_RETENTION_DAYS = 30
_PURGE_STRIPE_EVENTS = """
with doomed as (
  select e.id from public.stripe_events e
  where e.received_at < now() - make_interval(days => %(days)s)
  order by e.received_at
  limit %(limit)s
  for update skip locked
)
delete from public.stripe_events e using doomed where e.id = doomed.id
"""


async def purge_stripe_events(db: Database, settings: Settings) -> int:
    return await run_batched(
        db, _PURGE_STRIPE_EVENTS, {"days": STRIPE_EVENT_RETENTION_DAYS}, batch_size=settings.cleanup_batch_size
    )


async def purge_monthly_post_counts(db: Database, settings: Settings) -> int:
    """Free-plan post counts of months more than a year past."""
    return await run_batched(
        db, "select private.cleanup_monthly_post_counts(%(limit)s) as n", batch_size=settings.cleanup_batch_size
    )


async def fold_gig_views(db: Database, settings: Settings) -> int:
    """Views recorded since the last run are added to gigs.views_count, each once; then counted
    views older than yesterday (kept until then to recognise a repeat view) are forgotten."""
    folded = await run_batched(
        db, "select private.cleanup_fold_gig_views(%(limit)s) as n", batch_size=settings.cleanup_batch_size
    )
    await run_batched(
        db, "select private.cleanup_forget_gig_views(%(limit)s) as n", batch_size=settings.cleanup_batch_size
    )
    return folded


_END_STALE_CALLS = """
with stale as (
  select v.id from public.video_calls v
  where v.ended_at is null
    and ((v.started_at is not null and v.started_at < now() - make_interval(mins => %(minutes)s))
         or (v.started_at is null and v.scheduled_at < now() - make_interval(mins => %(minutes)s)))
  limit %(limit)s
  for update skip locked
)
update public.video_calls v
set started_at = coalesce(v.started_at, v.scheduled_at),
    ended_at = coalesce(v.started_at, v.scheduled_at) + make_interval(mins => %(minutes)s)
from stale where v.id = stale.id
"""


async def end_stale_calls(db: Database, settings: Settings) -> int:
    """Calls nobody ended are ended CALL_MAX_DURATION_MINUTES after they started (a scheduled call
    starts at its scheduled time): the end time recorded is that cap, not the hour the cron ran."""
    return await run_batched(
        db, _END_STALE_CALLS, {"minutes": settings.call_max_duration_minutes}, batch_size=settings.cleanup_batch_size
    )


CALL_REMINDER_MINUTES = 15
# The marker and the notifications in one statement: a call is marked exactly when its reminders
# are written, so no run (nor two racing ones) reminds twice and none forgets a marked call.
# The seed's notification types have no reminder of their own: it is a call_scheduled notification
# whose data says reminder=true.
_SEND_CALL_REMINDERS = """
with due as (
  select v.id from public.video_calls v
  where v.reminder_sent_at is null and v.ended_at is null and v.scheduled_at is not null
    and v.scheduled_at > now() and v.scheduled_at <= now() + make_interval(mins => %(minutes)s)
  order by v.scheduled_at
  limit %(limit)s
  for update skip locked
), marked as (
  update public.video_calls v set reminder_sent_at = now() from due where v.id = due.id
  returning v.id, v.room_id, v.participant_ids, v.scheduled_at, v.gig_id, v.initiator_id
), sent as (
  insert into public.notifications (user_id, type, title, body, data)
  select p, 'call_scheduled', 'Your video call starts soon',
         'Your call starts at ' || to_char(m.scheduled_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC',
         jsonb_build_object('call_id', m.id, 'room_id', m.room_id, 'initiator_id', m.initiator_id,
                            'scheduled_at', m.scheduled_at, 'gig_id', m.gig_id, 'reminder', true)
  from marked m cross join lateral unnest(m.participant_ids) as p
  returning 1
)
select (select count(*) from marked)::int as n
"""


async def send_call_reminders(db: Database, settings: Settings) -> int:
    """Every participant of a call starting within 15 minutes gets one reminder; returns the calls."""
    return await run_batched(
        db, _SEND_CALL_REMINDERS, {"minutes": CALL_REMINDER_MINUTES}, batch_size=settings.cleanup_batch_size
    )


# The order they run in. A task is added here once the tables it needs have landed.
TASKS: tuple[Task, ...] = (
    Task("expire_invitations", expire_invitations),
    Task("purge_rate_limit_windows", purge_rate_limit_windows),
    Task("delete_expired_exports", delete_expired_exports),
    Task("delete_unsent_attachments", delete_unsent_attachments),
    Task("delete_read_notifications", delete_read_notifications),
    Task("purge_stripe_events", purge_stripe_events),
    Task("purge_monthly_post_counts", purge_monthly_post_counts),
    Task("fold_gig_views", fold_gig_views),
    Task("end_stale_calls", end_stale_calls),
    Task("send_call_reminders", send_call_reminders),
)
