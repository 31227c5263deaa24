"""The cleanup cron: runs the registered tasks (shared/services/cleanup_tasks.py), one job at a time.

The job crosses users, so it runs as service_role through `db.service_tx()`. Each task opens its
own transactions (one per batch), so a failing task never undoes another's work and no statement
holds row locks on a busy table for long: every statement touches at most `batch_size` rows and
skips rows that requests have locked; the next hourly run picks up what is left. Every task is
idempotent: running it twice in a row does nothing the second time.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from shared.config import Settings
from shared.db import Database
from shared.logging import get_logger
from shared.models.cleanup import CleanupReport, TaskOutcome
from shared.services.cleanup_tasks import TASKS, Task

log = get_logger("cleanup")

# pg advisory lock key of this job ("ugigcln" in ASCII); no other code uses it.
LOCK_KEY = 0x7567_6967_636C_6E
SKIPPED_REASON = "another run holds the lock"
# Longer than any Lambda can run: if the process dies mid-run the server ends the lock's
# transaction itself, so a dead run never blocks the following ones.
LOCK_IDLE_TIMEOUT = "16min"


class RunLock(Protocol):
    def hold(self) -> AbstractAsyncContextManager[bool]: ...


class AdvisoryRunLock:
    """A transaction-scoped advisory lock held by its own transaction for the whole run.

    Transaction-scoped on purpose: through Supabase's transaction-mode pooler a session-level
    lock could stay behind on a server connection that another client gets next. The holding
    transaction does nothing else, so it locks no rows; the tasks run on other connections.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        async with self._db.service_tx() as conn:
            cur = await conn.execute(
                "select set_config('idle_in_transaction_session_timeout', %s, true),"
                " pg_try_advisory_xact_lock(%s) as acquired",
                (LOCK_IDLE_TIMEOUT, LOCK_KEY),
            )
            row = await cur.fetchone()
            yield bool(row and row["acquired"])


def select_tasks(names: Sequence[str] | None) -> tuple[Task, ...]:
    """The registered tasks with these names (all of them for None), in registry order."""
    if names is None:
        return TASKS
    wanted = set(names)
    return tuple(task for task in TASKS if task.name in wanted)


async def _run_task(task: Task, db: Database, settings: Settings) -> TaskOutcome:
    try:
        return await task.run(db, settings)
    except Exception as exc:  # one failing task must not stop the others
        # The class only: messages of database errors can quote SQL and values.
        log.error("cleanup task failed", extra={"task": task.name, "error_class": type(exc).__name__})
        return "failed"


async def run_cleanup(
    db: Database,
    settings: Settings,
    *,
    lock: RunLock | None = None,
    tasks: Sequence[Task] | None = None,
) -> CleanupReport:
    """One run of every task, unless another run holds the lock (then it reports it skipped)."""
    started = time.perf_counter()
    outcomes: dict[str, TaskOutcome] = {}
    async with (lock or AdvisoryRunLock(db)).hold() as acquired:
        if acquired:
            for task in TASKS if tasks is None else tasks:
                outcomes[task.name] = await _run_task(task, db, settings)
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    if not acquired:
        log.info("cleanup skipped", extra={"skipped": True, "reason": SKIPPED_REASON, "duration_ms": duration_ms})
        return CleanupReport(skipped=True, reason=SKIPPED_REASON, duration_ms=duration_ms)
    log.info("cleanup finished", extra={"skipped": False, "tasks": outcomes, "duration_ms": duration_ms})
    return CleanupReport(skipped=False, tasks=outcomes, duration_ms=duration_ms)
