"""The test harness: one PostgreSQL cluster per session, a template database with everything
applied, a database cloned from it per test module, and a rolled-back transaction per test.

Tests act as the real roles with real claims (`acting_as`), call the composed app over HTTP
(`client`), or call a function's Mangum handler with an API Gateway v2 event (`load_event`).
"""

from __future__ import annotations

import os

os.environ["UGIG_ENV"] = "test"
os.environ.setdefault("LOG_LEVEL", "WARNING")

import asyncio
import json
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from devtools.cluster import LocalCluster, free_port
from devtools.migrate import ensure_database, setup_database
from shared.auth.tokens import TokenVerifier
from shared.config import get_settings
from shared.db import Conn, Database, SingleConnectionSource
from tests.factories.users import TestUser, create_user

TEMPLATE_DB = "ugig_template"

# Building a Mangum handler (at import of a function module) gives the thread an event loop when it
# has none, as Lambda needs. Installed here, before any test module imports a function, this is the one
# loop every Lambda handler in the tests runs on; closed once at the end of the session instead of
# being dropped (and reported as leaked) at a random point.
LAMBDA_LOOP = asyncio.new_event_loop()
asyncio.set_event_loop(LAMBDA_LOOP)


@pytest.fixture(scope="session", autouse=True)
def _close_lambda_loop() -> Iterator[None]:
    yield
    LAMBDA_LOOP.close()


_db_counter = 0


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    base = Path(tempfile.mkdtemp(prefix="ugig-test-"))
    base.chmod(0o755)  # the postgres user runs the server when the tests run as root
    cluster = LocalCluster(base / "data", free_port(), base / "run", fast=True)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_cluster: LocalCluster) -> str:
    ensure_database(pg_cluster.url(), TEMPLATE_DB)
    setup_database(pg_cluster.url(TEMPLATE_DB), local=True, seed=False)
    return TEMPLATE_DB


def clone_database(cluster: LocalCluster, template: str, label: str) -> str:
    global _db_counter
    _db_counter += 1
    name = f"t{_db_counter}_{re.sub(r'[^a-z0-9]+', '_', label.lower())[-40:]}"
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute(f'create database "{name}" template "{template}"')
    return name


def drop_database(cluster: LocalCluster, name: str) -> None:
    with psycopg.connect(cluster.url(), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def module_db_url(request: pytest.FixtureRequest, pg_cluster: LocalCluster, template_db: str) -> Iterator[str]:
    name = clone_database(pg_cluster, template_db, request.module.__name__)
    yield pg_cluster.url(name)
    drop_database(pg_cluster, name)


async def connect(url: str) -> Conn:
    return await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row, prepare_threshold=None)


@pytest.fixture(scope="module")
async def module_conn(module_db_url: str) -> AsyncIterator[Conn]:
    conn = await connect(module_db_url)
    yield conn
    await conn.close()


@pytest.fixture
async def conn(module_conn: Conn) -> AsyncIterator[Conn]:
    """The test's own transaction, rolled back at the end; the app's transactions become savepoints."""
    async with module_conn.transaction(force_rollback=True):
        yield module_conn


@pytest.fixture
def db(conn: Conn) -> Database:
    return Database(SingleConnectionSource(conn))


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    from functions.app import app

    app.state.db = db
    app.state.verifier = TokenVerifier(get_settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    app.state.db = None


@pytest.fixture
async def user(conn: Conn) -> TestUser:
    return await create_user(conn)


@pytest.fixture
async def other_user(conn: Conn) -> TestUser:
    return await create_user(conn)


EVENTS_DIR = Path(__file__).parent / "events"


LambdaInvoke = Callable[[ModuleType, dict[str, Any]], dict[str, Any]]


@pytest.fixture
def lambda_invoke(module_db_url: str) -> Iterator[LambdaInvoke]:
    """Calls a function module's `handler(event, context)` as Lambda would: synchronously, on the Lambda
    loop, with a real pool on the module's database (committed data only)."""
    asyncio.set_event_loop(LAMBDA_LOOP)  # async fixtures elsewhere may have swapped it out meanwhile
    settings = get_settings().model_copy(update={"database_url": module_db_url, "db_pool_min_size": 0})
    databases: list[Database] = []

    def invoke(module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
        db = Database.from_settings(settings)
        databases.append(db)
        module.app.state.db = db
        try:
            result: dict[str, Any] = module.handler(event, {"aws_request_id": "test"})
        finally:
            module.app.state.db = None
        return result

    yield invoke
    for db in databases:
        LAMBDA_LOOP.run_until_complete(db.close())  # the pool's connections belong to that loop


def load_event(name: str) -> dict[str, Any]:
    """A recorded Lambda event from tests/events/."""
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return loaded
