"""POST /api/cron/cleanup: only the bearer of CRON_SECRET runs the job; it answers in the envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from shared.config import get_settings
from shared.db import Conn, Database
from shared.providers.storage import LocalStorage, set_storage
from shared.services import cleanup
from shared.services import cleanup_tasks as tasks
from tests.factories import cleanup as rows

URL = "/api/cron/cleanup"


@pytest.fixture
async def lock_db(module_db_url: str) -> AsyncIterator[Database]:
    db = Database.from_settings(
        get_settings().model_copy(update={"database_url": module_db_url, "db_pool_min_size": 0})
    )
    yield db
    await db.close()


@pytest.fixture
def cron(client: httpx.AsyncClient, lock_db: Database, tmp_path: Path) -> Iterator[httpx.AsyncClient]:
    """The app with the run lock on a connection of its own (the test's own connection runs the tasks)."""
    from functions.app import app

    app.state.cleanup_lock = cleanup.AdvisoryRunLock(lock_db)
    set_storage(LocalStorage(tmp_path, "http://testserver", b"k" * 32))
    yield client
    set_storage(None)
    app.state.cleanup_lock = None


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _secret() -> str:
    secret = get_settings().cron_secret
    assert secret is not None
    return secret.get_secret_value()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-the-secret"},
        {"Authorization": "Basic " + "ugig-local-cron-secret"},
        {"Authorization": "Bearer ugig-local-cron-secret-and-more"},
        {"Authorization": "Bearer ugig-local-cron-secre"},
    ],
    ids=["missing", "empty", "wrong", "other-scheme", "longer", "prefix"],
)
async def test_without_the_secret_the_job_does_not_run(
    cron: httpx.AsyncClient, conn: Conn, headers: dict[str, str]
) -> None:
    org = await rows.organization(conn)
    overdue = await rows.invitation(conn, org, expires_in=timedelta(hours=-1))

    response = await cron.post(URL, headers=headers)

    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "UNAUTHORIZED"
    assert body["traceId"] == response.headers["x-request-id"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert _secret() not in response.text
    assert await rows.invitation_status(conn, overdue) == "pending", "nothing changed"


async def test_with_the_secret_the_job_runs_and_reports_each_task(cron: httpx.AsyncClient, conn: Conn) -> None:
    org = await rows.organization(conn)
    overdue = await rows.invitation(conn, org, expires_in=timedelta(hours=-1))

    response = await cron.post(URL, headers=_bearer(_secret()))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["skipped"] is False
    assert set(data["tasks"]) == {task.name for task in tasks.TASKS}
    assert data["tasks"]["expire_invitations"] == 1
    assert data["duration_ms"] >= 0
    assert await rows.invitation_status(conn, overdue) == "expired"


async def test_a_request_during_another_run_reports_it_skipped(
    cron: httpx.AsyncClient, conn: Conn, module_db_url: str
) -> None:
    org = await rows.organization(conn)
    overdue = await rows.invitation(conn, org, expires_in=timedelta(hours=-1))
    other_run = Database.from_settings(
        get_settings().model_copy(update={"database_url": module_db_url, "db_pool_min_size": 0})
    )
    try:
        async with cleanup.AdvisoryRunLock(other_run).hold() as held:
            assert held
            response = await cron.post(URL, headers=_bearer(_secret()))
    finally:
        await other_run.close()

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["skipped"] is True
    assert data["reason"] == "another run holds the lock"
    assert data["tasks"] == {}
    assert await rows.invitation_status(conn, overdue) == "pending"


async def test_the_job_is_post_only(cron: httpx.AsyncClient) -> None:
    response = await cron.get(URL, headers=_bearer(_secret()))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
