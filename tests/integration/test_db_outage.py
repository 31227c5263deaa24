"""The database goes away mid-request: callers get 503 SERVICE_UNAVAILABLE in the envelope, a
half-done transaction leaves nothing behind, and the same process serves again once the database
is back, with no restart.

A throwaway cluster of its own (stopping the session's cluster would break every other test), a
real pool (`Database.from_settings`), the real app factory, the real health route and the composed
app's real routes.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import APIRouter
from fastapi.applications import FastAPI

from devtools.cluster import LocalCluster, free_port
from devtools.migrate import ensure_database, setup_database
from shared.auth.tokens import TokenVerifier
from shared.config import Settings, get_settings
from shared.db import Database
from shared.web.app import create_app
from shared.web.deps import Db
from shared.web.envelope import ok
from tests.conftest import connect
from tests.factories.users import TestUser, create_user

DB_NAME = "outage"

router = APIRouter()


@router.post("/outage/transfer")
async def transfer(db: Db) -> Any:
    """Two writes in one transaction; the second waits on a row lock the test holds, so the test
    can kill the database connection between them."""
    async with db.service_tx() as conn:
        await conn.execute("insert into public.outage_ledger (entry) values ('debit')")
        await conn.execute("select 1 from public.outage_gate where id = 1 for update")
        await conn.execute("insert into public.outage_ledger (entry) values ('credit')")
    return ok({"done": True})


@pytest.fixture(scope="module")
def outage_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    base = tmp_path_factory.mktemp("outage")
    base.chmod(0o755)  # the postgres user runs the server when the tests run as root
    for parent in base.parents:
        if parent == Path("/") or parent.stat().st_uid != 0:
            break
        parent.chmod(parent.stat().st_mode | 0o011)
    cluster = LocalCluster(base / "data", free_port(), base / "run", fast=True)
    cluster.init()
    cluster.start()
    ensure_database(cluster.url(), DB_NAME)
    setup_database(cluster.url(DB_NAME), local=True, seed=False)
    with psycopg.connect(cluster.url(DB_NAME), autocommit=True) as admin:
        admin.execute("create table public.outage_ledger (id bigserial primary key, entry text not null)")
        admin.execute("alter table public.outage_ledger enable row level security")
        admin.execute("grant select, insert on public.outage_ledger to service_role")
        admin.execute("grant usage on sequence public.outage_ledger_id_seq to service_role")
        admin.execute("create table public.outage_gate (id int primary key)")
        admin.execute("alter table public.outage_gate enable row level security")
        admin.execute("grant select, update on public.outage_gate to service_role")
        admin.execute("insert into public.outage_gate values (1)")
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def outage_settings(outage_cluster: LocalCluster) -> Settings:
    return get_settings().model_copy(
        update={
            "database_url": outage_cluster.url(DB_NAME),
            "db_pool_min_size": 1,
            "db_pool_max_size": 4,
            "db_connect_timeout_seconds": 1.0,
        }
    )


@pytest.fixture
async def outage_app(outage_settings: Settings) -> AsyncIterator[tuple[FastAPI, Database]]:
    # Imported here, under the running loop: a function module's Mangum() at import time would make
    # an event loop of its own when none is running, and leak it.
    from functions.health import router as health_router

    app = create_app(health_router, router)
    db = Database.from_settings(outage_settings)
    app.state.db = db
    app.state.verifier = TokenVerifier(outage_settings)
    yield app, db
    await db.close()


@pytest.fixture
async def http(outage_app: tuple[FastAPI, Database]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=outage_app[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://outage") as client:
        yield client


@pytest.fixture
async def outage_user(outage_cluster: LocalCluster) -> TestUser:
    conn = await connect(outage_cluster.url(DB_NAME))
    try:
        return await create_user(conn)
    finally:
        await conn.close()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["traceId"] == response.headers["x-request-id"]
    for leak in ("Traceback", "psycopg", "terminating connection", "127.0.0.1", "postgres"):
        assert leak not in body["error"]["message"]


async def ledger_entries(cluster: LocalCluster) -> list[str]:
    conn = await connect(cluster.url(DB_NAME))
    try:
        cur = await conn.execute("select entry from public.outage_ledger order by id")
        return [row["entry"] for row in await cur.fetchall()]
    finally:
        await conn.close()


async def recovers(http: httpx.AsyncClient, path: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
    """The first request after an outage may land on a connection the server closed (answered 503,
    safe to retry); the pool drops it, and service must come back within a few requests."""
    response = await http.get(path, headers=headers)
    for _ in range(5):
        if response.status_code != 503:
            break
        assert_unavailable(response)
        await asyncio.sleep(0.2)
        response = await http.get(path, headers=headers)
    return response


async def test_backend_killed_mid_transaction_answers_503_and_writes_nothing(
    http: httpx.AsyncClient, outage_cluster: LocalCluster
) -> None:
    locker = await connect(outage_cluster.url(DB_NAME))
    watcher = await connect(outage_cluster.url(DB_NAME))  # autocommit: pg_stat_activity is fresh each time
    try:
        async with locker.transaction():
            await locker.execute("select 1 from public.outage_gate where id = 1 for update")
            request = asyncio.create_task(http.post("/outage/transfer"))
            # Wait until the request has written its first row and is blocked on our lock.
            victim = None
            for _ in range(500):
                cur = await watcher.execute(
                    "select pid from pg_stat_activity where application_name = 'ugig'"
                    " and wait_event_type = 'Lock' and datname = %s",
                    (DB_NAME,),
                )
                row = await cur.fetchone()
                if row:
                    victim = row["pid"]
                    break
                await asyncio.sleep(0.02)
            assert victim is not None, (await request).text if request.done() else "the request never blocked"
            await watcher.execute("select pg_terminate_backend(%s)", (victim,))
            response = await asyncio.wait_for(request, timeout=30)
    finally:
        await locker.close()
        await watcher.close()

    assert_unavailable(response)
    assert await ledger_entries(outage_cluster) == []  # the debit died with its transaction

    # The pool threw the dead connection away: the same process completes the transfer next time.
    again = await http.post("/outage/transfer")
    assert again.status_code == 200, again.text
    assert await ledger_entries(outage_cluster) == ["debit", "credit"]
    conn = await connect(outage_cluster.url(DB_NAME))
    await conn.execute("truncate public.outage_ledger")
    await conn.close()


async def test_every_connection_killed_then_service_resumes(
    http: httpx.AsyncClient, outage_cluster: LocalCluster, outage_user: TestUser
) -> None:
    assert (await http.get("/api/health")).status_code == 200
    admin = await connect(outage_cluster.url(DB_NAME))
    await admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'ugig'")
    await admin.close()
    response = await recovers(http, "/api/health")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["database"]["status"] == "connected"


async def test_database_stopped_answers_503_then_resumes_by_itself(
    outage_cluster: LocalCluster, outage_settings: Settings, outage_user: TestUser
) -> None:
    # The composed app: real domain routes, not only health.
    from functions.app import app

    db = Database.from_settings(outage_settings)
    saved = (getattr(app.state, "db", None), getattr(app.state, "verifier", None))
    app.state.db, app.state.verifier = db, TokenVerifier(outage_settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://outage") as http:
            assert (await http.get("/api/health")).status_code == 200
            outage_cluster.stop()
            try:
                health = await http.get("/api/health")
                assert health.status_code == 503, health.text
                body = health.json()
                assert body["success"] is False and body["error"]["code"] == "SERVICE_UNAVAILABLE"
                assert body["data"]["database"]["status"] == "disconnected"
                for path in ("/api/v1/me/organizations", "/api/v1/subscription"):
                    assert_unavailable(await http.get(path, headers=outage_user.headers))
                # A write while down: refused the same way, and nothing is queued for later.
                created = await http.post(
                    "/api/v1/organizations", json={"name": "Written While Down"}, headers=outage_user.headers
                )
                assert_unavailable(created)
            finally:
                outage_cluster.start()
            response = await recovers(http, "/api/health")
            assert response.status_code == 200, response.text
            mine = await recovers(http, "/api/v1/me/organizations", headers=outage_user.headers)
            assert mine.status_code == 200, mine.text
            assert mine.json()["data"] == []  # the write refused while down never landed
    finally:
        app.state.db, app.state.verifier = saved
        await db.close()
