"""The cleanup cron's tasks on real data (what each must touch and what it must leave), its
batching, failure isolation, and the lock that keeps two overlapping runs from both working."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from shared.config import Settings, get_settings
from shared.db import Conn, Database
from shared.errors import ServiceUnavailable
from shared.logging import JsonFormatter
from shared.providers.storage import LocalStorage, set_storage
from shared.services import cleanup
from shared.services import cleanup_tasks as tasks
from tests.factories import cleanup as rows
from tests.factories import messaging
from tests.factories.users import acting_as, create_user

PAST = timedelta(hours=-1)
FUTURE = timedelta(hours=1)


def _pooled(url: str) -> Database:
    return Database.from_settings(get_settings().model_copy(update={"database_url": url, "db_pool_min_size": 0}))


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
async def lock_db(module_db_url: str) -> AsyncIterator[Database]:
    """A real pool on the module database: the run lock lives on connections of its own."""
    db = Database.from_settings(
        get_settings().model_copy(update={"database_url": module_db_url, "db_pool_min_size": 0})
    )
    yield db
    await db.close()


@pytest.fixture
async def other_lock_db(module_db_url: str) -> AsyncIterator[Database]:
    db = Database.from_settings(
        get_settings().model_copy(update={"database_url": module_db_url, "db_pool_min_size": 0})
    )
    yield db
    await db.close()


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[LocalStorage]:
    store = LocalStorage(tmp_path, "http://testserver", b"k" * 32)
    set_storage(store)
    yield store
    set_storage(None)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The cleanup logger's lines as the deployed JSON formatter writes them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ugig.cleanup")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(previous)


# ------------------------------------------------------------------------------------ invitations


async def test_expire_invitations_expires_only_pending_ones_past_expiry(
    conn: Conn, db: Database, settings: Settings
) -> None:
    org = await rows.organization(conn)
    overdue = await rows.invitation(conn, org, expires_in=PAST)
    fresh = await rows.invitation(conn, org, expires_in=FUTURE)
    declined = await rows.invitation(conn, org, expires_in=PAST, status="declined")

    assert await tasks.expire_invitations(db, settings) == 1

    assert await rows.invitation_status(conn, overdue) == "expired"
    assert await rows.invitation_status(conn, fresh) == "pending"
    assert await rows.invitation_status(conn, declined) == "declined"
    assert await tasks.expire_invitations(db, settings) == 0, "a second run has nothing left to do"


async def test_batches_touch_at_most_the_batch_size_per_statement(conn: Conn, db: Database) -> None:
    org = await rows.organization(conn)
    overdue = [await rows.invitation(conn, org, expires_in=PAST) for _ in range(5)]

    # Two batches of two: four rows now, the fifth left for the next run.
    touched = await tasks.run_batched(db, tasks._EXPIRE_INVITATIONS, batch_size=2, max_batches=2)
    assert touched == 4
    statuses = [await rows.invitation_status(conn, i) for i in overdue]
    assert sorted(statuses) == ["expired"] * 4 + ["pending"]

    assert await tasks.run_batched(db, tasks._EXPIRE_INVITATIONS, batch_size=2) == 1
    assert [await rows.invitation_status(conn, i) for i in overdue] == ["expired"] * 5


# ------------------------------------------------------------------------------------ rate limits


async def test_purge_rate_limit_windows_deletes_only_finished_windows(
    conn: Conn, db: Database, settings: Settings
) -> None:
    await rows.rate_limit_window(conn, "signin:ended", ends_in=PAST)
    await rows.rate_limit_window(conn, "signin:also-ended", ends_in=timedelta(days=-2))
    await rows.rate_limit_window(conn, "signin:live", ends_in=FUTURE)

    assert await tasks.purge_rate_limit_windows(db, settings.model_copy(update={"cleanup_batch_size": 1})) == 2

    assert await rows.rate_limit_keys(conn) == {"signin:live"}
    assert await tasks.purge_rate_limit_windows(db, settings) == 0


async def test_the_batched_purge_function_is_not_callable_by_clients(conn: Conn) -> None:
    someone = await create_user(conn)
    for who in ("anon", someone):
        async with acting_as(conn, who, as_api_user=who != "anon") as c:
            cur = await c.execute(
                "select has_function_privilege(current_user, 'private.cleanup_rate_limit_counters(integer)',"
                " 'execute') as can"
            )
            row = await cur.fetchone()
            assert row is not None and row["can"] is False


# ---------------------------------------------------------------------------------------- exports


async def test_expired_exports_lose_their_file_and_their_row(
    conn: Conn, db: Database, settings: Settings, storage: LocalStorage
) -> None:
    await storage.put("exports", "u1/old.csv", b"a,b\n", "text/csv")
    await storage.put("exports", "u1/new.csv", b"a,b\n", "text/csv")
    await rows.export_row(conn, "u1/old.csv", expires_in=PAST)
    await rows.export_row(conn, "u1/new.csv", expires_in=FUTURE)
    await rows.export_row(conn, "u1/file-already-gone.csv", expires_in=PAST)

    assert await tasks.delete_expired_exports(db, settings) == 2

    assert await rows.export_paths(conn) == {"u1/new.csv"}
    assert not await storage.exists("exports", "u1/old.csv")
    assert await storage.exists("exports", "u1/new.csv")
    assert await tasks.delete_expired_exports(db, settings) == 0


class _DownStorage(LocalStorage):
    async def delete(self, bucket: str, paths: list[str]) -> None:
        raise ServiceUnavailable("File storage is unavailable")


async def test_export_rows_stay_when_storage_is_down_so_the_next_run_retries(
    conn: Conn, db: Database, settings: Settings, tmp_path: Path
) -> None:
    set_storage(_DownStorage(tmp_path, "http://testserver", b"k" * 32))
    try:
        await rows.export_row(conn, "u2/old.csv", expires_in=PAST)
        report = await cleanup.run_cleanup(
            db,
            settings,
            lock=_AlwaysFree(),
            tasks=[tasks.Task("delete_expired_exports", tasks.delete_expired_exports)],
        )
    finally:
        set_storage(None)
    assert report.tasks == {"delete_expired_exports": "failed"}
    assert await rows.export_paths(conn) == {"u2/old.csv"}


# ------------------------------------------------------------------------------------ attachments


async def test_unsent_attachments_older_than_a_day_lose_their_row_and_file(
    conn: Conn, db: Database, settings: Settings, storage: LocalStorage
) -> None:
    a, b = await create_user(conn), await create_user(conn)
    conversation = await messaging.create_conversation(conn, a, b)
    message = await messaging.add_message(conn, conversation, a)
    stale = await rows.attachment(conn, a.id, conversation, age=timedelta(hours=25))
    fresh = await rows.attachment(conn, a.id, conversation, age=timedelta(hours=1))
    sent = await rows.attachment(conn, a.id, conversation, age=timedelta(days=10), message_id=message)
    for path in (stale, fresh, sent):
        await storage.put("attachments", path, b"%PDF", "application/pdf")

    assert await tasks.delete_unsent_attachments(db, settings) == 1

    assert await rows.attachment_paths(conn) == {fresh, sent}
    assert not await storage.exists("attachments", stale)
    assert await storage.exists("attachments", fresh)
    assert await storage.exists("attachments", sent)
    assert await tasks.delete_unsent_attachments(db, settings) == 0


# ---------------------------------------------------------------------------------- notifications


async def test_only_read_notifications_older_than_90_days_are_deleted(
    conn: Conn, db: Database, settings: Settings
) -> None:
    someone = await create_user(conn)
    old_read = await rows.notification(conn, someone.id, age=timedelta(days=91), read=True)
    old_unread = await rows.notification(conn, someone.id, age=timedelta(days=200), read=False)
    recent_read = await rows.notification(conn, someone.id, age=timedelta(days=89), read=True)

    assert await tasks.delete_read_notifications(db, settings) == 1

    assert await rows.notification_ids(conn) >= {old_unread, recent_read}
    assert old_read not in await rows.notification_ids(conn)
    assert await tasks.delete_read_notifications(db, settings) == 0


# ---------------------------------------------------------------------------------------- billing


async def test_stripe_event_records_are_kept_30_days(conn: Conn, db: Database, settings: Settings) -> None:
    await rows.stripe_event(conn, "evt_old", age=timedelta(days=31))
    await rows.stripe_event(conn, "evt_recent", age=timedelta(days=29))

    assert await tasks.purge_stripe_events(db, settings) == 1

    assert await rows.stripe_event_ids(conn) == {"evt_recent"}
    assert await tasks.purge_stripe_events(db, settings) == 0


async def test_post_counts_older_than_a_year_are_purged(conn: Conn, db: Database, settings: Settings) -> None:
    poster = await create_user(conn)
    for months_ago in (0, 1, 12, 13, 30):
        await rows.monthly_posts(conn, poster.id, months_ago=months_ago)

    assert await tasks.purge_monthly_post_counts(db, settings) == 2

    assert await rows.monthly_post_months(conn, poster.id) == 3, "this month, last month and a year ago stay"
    assert await tasks.purge_monthly_post_counts(db, settings) == 0


# ----------------------------------------------------------------------------------------- gig views


async def test_gig_views_are_folded_into_the_counter_once(conn: Conn, db: Database, settings: Settings) -> None:
    poster = await create_user(conn)
    viewed = await rows.gig(conn, poster.id)
    already_counted = await rows.gig(conn, poster.id)
    for viewer in ("viewer-a", "viewer-b", "viewer-c"):
        await rows.gig_view(conn, viewed, viewer)
    await rows.gig_view(conn, already_counted, "viewer-a", counted=True)

    # One view per batch: three batches, each in its own transaction, add up to the same count.
    assert await tasks.fold_gig_views(db, settings.model_copy(update={"cleanup_batch_size": 1})) == 3

    assert await rows.gig_views_count(conn, viewed) == 3
    assert await rows.gig_views_count(conn, already_counted) == 0
    assert await tasks.fold_gig_views(db, settings) == 0
    assert await rows.gig_views_count(conn, viewed) == 3


async def test_counted_views_are_forgotten_after_yesterday(conn: Conn, db: Database, settings: Settings) -> None:
    poster = await create_user(conn)
    gig = await rows.gig(conn, poster.id)
    await rows.gig_view(conn, gig, "counted-2-days-ago", counted=True, days_ago=2)
    await rows.gig_view(conn, gig, "counted-yesterday", counted=True, days_ago=1)
    await rows.gig_view(conn, gig, "pending-3-days-ago", days_ago=3)

    assert await tasks.fold_gig_views(db, settings) == 1

    # The old pending view was counted first, then forgotten with the other old one; yesterday's
    # stays to recognise a repeat view.
    assert await rows.gig_views_count(conn, gig) == 1
    assert await rows.gig_view_rows(conn, gig) == [("counted-yesterday", True)]


# ------------------------------------------------------------------------------------- video calls


async def test_calls_left_open_past_the_maximum_are_ended_at_the_cap(
    conn: Conn, db: Database, settings: Settings
) -> None:
    settings = settings.model_copy(update={"call_max_duration_minutes": 240})
    a, b = await create_user(conn), await create_user(conn)
    forgotten = await rows.video_call(conn, a.id, b.id, started=timedelta(hours=-5))
    running = await rows.video_call(conn, a.id, b.id, started=timedelta(hours=-1))
    ended = await rows.video_call(conn, a.id, b.id, started=timedelta(hours=-6), ended=timedelta(hours=-5))
    never_joined = await rows.video_call(conn, a.id, b.id, scheduled=timedelta(hours=-5))
    upcoming = await rows.video_call(conn, a.id, b.id, scheduled=timedelta(hours=2))
    before = {c: await rows.video_call_times(conn, c) for c in (running, ended, upcoming)}

    assert await tasks.end_stale_calls(db, settings) == 2

    cap = timedelta(minutes=240)
    forgotten_now = await rows.video_call_times(conn, forgotten)
    assert forgotten_now["ended_at"] == forgotten_now["started_at"] + cap
    never_joined_now = await rows.video_call_times(conn, never_joined)
    assert never_joined_now["started_at"] == never_joined_now["scheduled_at"]
    assert never_joined_now["ended_at"] == never_joined_now["scheduled_at"] + cap
    for call, times in before.items():
        assert await rows.video_call_times(conn, call) == times
    assert await tasks.end_stale_calls(db, settings) == 0


async def test_the_maximum_call_duration_is_a_setting(conn: Conn, db: Database, settings: Settings) -> None:
    a, b = await create_user(conn), await create_user(conn)
    call = await rows.video_call(conn, a.id, b.id, started=timedelta(hours=-1))

    assert await tasks.end_stale_calls(db, settings.model_copy(update={"call_max_duration_minutes": 90})) == 0
    assert await tasks.end_stale_calls(db, settings.model_copy(update={"call_max_duration_minutes": 30})) == 1
    times = await rows.video_call_times(conn, call)
    assert times["ended_at"] == times["started_at"] + timedelta(minutes=30)


async def test_each_participant_is_reminded_once_of_a_call_starting_within_15_minutes(
    conn: Conn, db: Database, settings: Settings
) -> None:
    a, b = await create_user(conn), await create_user(conn)
    soon = await rows.video_call(conn, a.id, b.id, scheduled=timedelta(minutes=10))
    later = await rows.video_call(conn, a.id, b.id, scheduled=timedelta(minutes=30))
    cancelled = await rows.video_call(conn, a.id, b.id, scheduled=timedelta(minutes=10), ended=timedelta(minutes=-1))
    reminded = await rows.video_call(conn, a.id, b.id, scheduled=timedelta(minutes=5), reminded=True)
    already_begun = await rows.video_call(conn, a.id, b.id, scheduled=timedelta(minutes=-5))

    assert await tasks.send_call_reminders(db, settings) == 1

    assert await rows.call_reminders(conn, soon) == sorted([a.id, b.id])
    assert (await rows.video_call_times(conn, soon))["reminder_sent_at"] is not None
    for call in (later, cancelled, reminded, already_begun):
        assert await rows.call_reminders(conn, call) == []
    assert await tasks.send_call_reminders(db, settings) == 0
    assert await rows.call_reminders(conn, soon) == sorted([a.id, b.id]), "exactly once"


async def test_a_participant_reads_their_reminder_through_row_level_security(
    conn: Conn, db: Database, settings: Settings
) -> None:
    a, b = await create_user(conn), await create_user(conn)
    outsider = await create_user(conn)
    call = await rows.video_call(conn, a.id, b.id, scheduled=timedelta(minutes=10))
    await tasks.send_call_reminders(db, settings)

    query = "select count(*) as n from public.notifications where data ->> 'call_id' = %s"
    for who, expected in ((b, 1), (outsider, 0)):
        async with acting_as(conn, who) as c:
            cur = await c.execute(query, (str(call),))
            row = await cur.fetchone()
            assert row is not None and row["n"] == expected


# --------------------------------------------------------------------------------- the whole job


class _AlwaysFree:
    """For runs whose lock is not under test."""

    def hold(self) -> AbstractAsyncContextManager[bool]:
        @asynccontextmanager
        async def held() -> AsyncIterator[bool]:
            yield True

        return held()


async def test_a_run_reports_every_task_and_logs_the_counts(
    conn: Conn, db: Database, settings: Settings, lock_db: Database, storage: LocalStorage, log_lines: io.StringIO
) -> None:
    org = await rows.organization(conn)
    await rows.invitation(conn, org, expires_in=PAST)
    await rows.invitation(conn, org, expires_in=PAST)
    await rows.rate_limit_window(conn, "k", ends_in=PAST)

    report = await cleanup.run_cleanup(db, settings, lock=cleanup.AdvisoryRunLock(lock_db))

    assert report.skipped is False
    assert set(report.tasks) == {t.name for t in tasks.TASKS}
    assert report.tasks["expire_invitations"] == 2
    assert report.tasks["purge_rate_limit_windows"] == 1
    assert report.tasks["delete_expired_exports"] == 0
    finished = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert [line["msg"] for line in finished] == ["cleanup finished"]
    assert finished[0]["tasks"] == report.tasks


async def test_a_failing_task_is_reported_without_undoing_the_others(
    conn: Conn, db: Database, settings: Settings, log_lines: io.StringIO
) -> None:
    org = await rows.organization(conn)
    overdue = await rows.invitation(conn, org, expires_in=PAST)
    await rows.rate_limit_window(conn, "k", ends_in=PAST)

    async def broken(db: Database, settings: Settings) -> int:
        async with db.service_tx() as c:
            await c.execute("select 1 / (select count(*) from public.exports where path = 'secret-value')")
        return 0

    job = [
        tasks.Task("expire_invitations", tasks.expire_invitations),
        tasks.Task("broken", broken),
        tasks.Task("purge_rate_limit_windows", tasks.purge_rate_limit_windows),
    ]
    report = await cleanup.run_cleanup(db, settings, lock=_AlwaysFree(), tasks=job)

    assert report.tasks == {"expire_invitations": 1, "broken": "failed", "purge_rate_limit_windows": 1}
    assert await rows.invitation_status(conn, overdue) == "expired"
    assert await rows.rate_limit_keys(conn) == set()
    logged = log_lines.getvalue()
    failure = json.loads(logged.splitlines()[0])
    assert failure["msg"] == "cleanup task failed" and failure["task"] == "broken"
    for leak in ("select", "secret-value", "division", "exports"):
        assert leak not in logged.lower()


# ------------------------------------------------------------------------------------ overlap lock


async def test_a_second_run_skips_while_another_holds_the_lock(
    settings: Settings, lock_db: Database, other_lock_db: Database
) -> None:
    ran: list[str] = []

    async def record(db: Database, settings: Settings) -> int:
        ran.append("ran")
        return 0

    job = [tasks.Task("record", record)]
    async with cleanup.AdvisoryRunLock(lock_db).hold() as first:
        assert first is True
        second = await cleanup.run_cleanup(other_lock_db, settings, tasks=job)
    assert second.skipped is True
    assert second.reason == "another run holds the lock"
    assert second.tasks == {}
    assert ran == []

    after = await cleanup.run_cleanup(other_lock_db, settings, tasks=job)
    assert after.skipped is False and ran == ["ran"], "the lock is free again once the first run ends"


async def test_two_overlapping_runs_never_both_work(
    settings: Settings, lock_db: Database, other_lock_db: Database
) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    ran: list[str] = []

    async def slow(db: Database, settings: Settings) -> int:
        ran.append("ran")
        started.set()
        await release.wait()
        return 0

    job = [tasks.Task("slow", slow)]
    first = asyncio.create_task(cleanup.run_cleanup(lock_db, settings, tasks=job))
    await asyncio.wait_for(started.wait(), 30)
    second = await cleanup.run_cleanup(other_lock_db, settings, tasks=job)
    release.set()
    first_report = await first

    assert (first_report.skipped, second.skipped) == (False, True)
    assert ran == ["ran"]


async def test_a_full_run_on_committed_data_takes_and_releases_the_lock(
    settings: Settings, lock_db: Database, storage: LocalStorage
) -> None:
    # The deployed shape: lock and tasks from the same pool, real commits.
    report = await cleanup.run_cleanup(lock_db, settings)
    assert report.skipped is False
    assert all(isinstance(n, int) for n in report.tasks.values()), report.tasks
    async with cleanup.AdvisoryRunLock(lock_db).hold() as acquired:
        assert acquired is True


async def test_rows_a_request_has_locked_are_skipped_not_waited_for(module_db_url: str, settings: Settings) -> None:
    # Committed rows and two real connections: a request holding one invitation's row lock, and the job.
    from tests.conftest import connect

    # A blocked statement would fail on this timeout instead of hanging the test.
    job_db = Database.from_settings(
        settings.model_copy(
            update={"database_url": module_db_url, "db_pool_min_size": 0, "db_statement_timeout_ms": 5000}
        )
    )
    request = await connect(module_db_url)
    try:
        org = await rows.organization(request)
        overdue = [await rows.invitation(request, org, expires_in=PAST) for _ in range(3)]
        async with request.transaction():
            await request.execute("select 1 from public.invitations where id = %s for update", (overdue[0],))

            assert await tasks.expire_invitations(job_db, settings) == 2

            assert await rows.invitation_status(request, overdue[0]) == "pending"
        assert await tasks.expire_invitations(job_db, settings) == 1, "the next run takes what was locked"
        assert [await rows.invitation_status(request, i) for i in overdue] == ["expired"] * 3
        await request.execute("delete from public.organizations where id = %s", (org,))
    finally:
        await request.close()
        await job_db.close()
