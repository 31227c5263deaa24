"""The cleanup cron: an hourly EventBridge schedule, and POST /api/cron/cleanup for the same job.

One Lambda serves both kinds of events: `handler` sends API Gateway events to Mangum and runs the
job directly for schedule events.
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from mangum import Mangum

from shared.config import get_settings
from shared.db import Database
from shared.errors import Unauthorized
from shared.logging import trace_id_var
from shared.models.cleanup import CleanupReport
from shared.services import cleanup
from shared.web.app import create_app
from shared.web.deps import Db
from shared.web.envelope import Envelope, ok

router = APIRouter(tags=["cron"])


async def require_cron_secret(request: Request) -> None:
    secret = get_settings().cron_secret
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    # Compared in constant time so the answer's timing says nothing about the secret.
    matches = hmac.compare_digest(token.strip().encode(), secret.get_secret_value().encode()) if secret else False
    if scheme.lower() != "bearer" or not matches:
        raise Unauthorized("Use an Authorization: Bearer <CRON_SECRET> header")


async def get_run_lock(request: Request, db: Db) -> cleanup.RunLock:
    # Tests hold the lock on a connection of their own; deployed, it comes from the same pool.
    lock: cleanup.RunLock | None = getattr(request.app.state, "cleanup_lock", None)
    return lock or cleanup.AdvisoryRunLock(db)


@router.post(
    "/api/cron/cleanup",
    response_model=Envelope[CleanupReport],
    dependencies=[Depends(require_cron_secret)],
)
async def cron_cleanup(db: Db, lock: Annotated[cleanup.RunLock, Depends(get_run_lock)]) -> Any:
    return ok(await cleanup.run_cleanup(db, get_settings(), lock=lock))


app = create_app(router, title="ugig cleanup cron", docs=False)
http_handler = Mangum(app, lifespan="off")


def _database(api: FastAPI) -> Database:
    db: Database | None = getattr(api.state, "db", None)
    if db is None:
        db = Database.from_settings(get_settings())
        api.state.db = db
    return db


def _task_names(event: dict[str, Any]) -> list[str] | None:
    # The frequent reminders rule names its tasks in the event's detail; the hourly rule runs all.
    detail = event.get("detail")
    names = detail.get("tasks") if isinstance(detail, dict) else None
    return [str(n) for n in names] if isinstance(names, list) else None


def scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The EventBridge schedule's entry: runs the job and returns its report."""
    db = _database(app)
    lock: cleanup.RunLock = getattr(app.state, "cleanup_lock", None) or cleanup.AdvisoryRunLock(db)
    tasks = cleanup.select_tasks(_task_names(event))
    # The log lines of this run carry the schedule event's id, as a request's carry its trace id.
    token = trace_id_var.set(str(event.get("id") or uuid.uuid4().hex))
    try:
        # Mangum's loop: the pool's connections belong to it, and a warm container serves both kinds of event.
        loop = asyncio.get_event_loop()
        report = loop.run_until_complete(cleanup.run_cleanup(db, get_settings(), lock=lock, tasks=tasks))
    finally:
        trace_id_var.reset(token)
    return report.model_dump()


def is_schedule_event(event: Any) -> bool:
    return isinstance(event, dict) and (
        event.get("source") == "aws.events" or event.get("detail-type") == "Scheduled Event"
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if is_schedule_event(event):
        return scheduled(event, context)
    result: dict[str, Any] = http_handler(event, context)
    return result
