"""Database access: one pool per process, and the only two ways to run a transaction.

Every request is one transaction. `user_tx` acts exactly as PostgREST would for the caller: the
role (`api_user` for a signed-in caller, `anon` otherwise) and the JWT claims are set with
`set_config(..., true)`, so row-level security decides what the caller sees and may change.
`service_tx` runs as `service_role` (bypasses RLS) for the few named entry points that must cross
users (Stripe webhook, cleanup cron, admin operations). Never autocommit: `set_config(..., true)`
outside a transaction silently does nothing and the login role would see every row.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from shared.auth.principal import Principal
from shared.config import Settings
from shared.db_errors import translate_db_error
from shared.errors import AppError, Forbidden, ServiceUnavailable, Unauthorized

Conn = AsyncConnection[DictRow]

ANON_CLAIMS = json.dumps({"role": "anon"})
SERVICE_CLAIMS = json.dumps({"role": "service_role"})

# One round trip opens the caller's context and checks that the token's session is still alive
# and the user is not banned, so sign-out and bans bite on the next request, not at token expiry.
_USER_CONTEXT_SQL = (
    "select set_config('role', 'api_user', true), set_config('request.jwt.claims', %s, true),"
    " set_config('statement_timeout', %s, true), private.auth_session_state(%s, %s) as state"
)
_ROLE_CONTEXT_SQL = (
    "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true),"
    " set_config('statement_timeout', %s, true)"
)


class ConnectionSource(Protocol):
    def connection(self) -> AbstractAsyncContextManager[Conn]: ...

    async def close(self) -> None: ...


class PoolSource:
    """A psycopg pool opened on first use, so importing a function costs no connection."""

    def __init__(self, settings: Settings) -> None:
        self._pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            settings.dsn,
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            timeout=settings.db_connect_timeout_seconds,
            open=False,
            connection_class=AsyncConnection[DictRow],
            kwargs={
                "autocommit": True,  # transactions are explicit, see module docstring
                "prepare_threshold": None,  # Supabase's transaction-mode pooler forbids prepared statements
                "row_factory": dict_row,
                "connect_timeout": max(1, int(settings.db_connect_timeout_seconds)),
                "application_name": "ugig",
            },
            reconnect_timeout=0,
        )
        self._opened = False
        self._lock = asyncio.Lock()

    async def _ensure_open(self) -> None:
        if self._opened:
            return
        async with self._lock:
            if not self._opened:
                await self._pool.open(wait=False)
                self._opened = True

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        await self._ensure_open()
        async with self._pool.connection() as conn:
            yield conn

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()
            self._opened = False


class SingleConnectionSource:
    """One shared connection, used by tests: each transaction becomes a savepoint of the test's own."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        async with self._lock:
            # Each "request" starts as a fresh transaction would: a released savepoint keeps the previous
            # request's role and claims, and from anon the next request could not switch to api_user.
            if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                await self._conn.execute(
                    "select set_config('role', 'none', true), set_config('request.jwt.claims', '', true)"
                )
            yield self._conn

    async def close(self) -> None:
        return None


class Database:
    def __init__(self, source: ConnectionSource, *, statement_timeout_ms: int = 10_000) -> None:
        self.source = source
        self._timeout = str(statement_timeout_ms)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(PoolSource(settings), statement_timeout_ms=settings.db_statement_timeout_ms)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Conn]:
        try:
            async with self.source.connection() as conn, conn.transaction():
                yield conn
        except AppError:
            raise
        except PoolTimeout as exc:
            raise ServiceUnavailable("The database is not reachable right now") from exc
        except psycopg.Error as exc:
            raise translate_db_error(exc) from exc
        except OSError as exc:
            raise ServiceUnavailable("The database is not reachable right now") from exc

    @asynccontextmanager
    async def user_tx(self, principal: Principal | None) -> AsyncIterator[Conn]:
        """A transaction as the caller: api_user with their claims, or anon when signed out."""
        async with self._transaction() as conn:
            if principal is None:
                await conn.execute(_ROLE_CONTEXT_SQL, ("anon", ANON_CLAIMS, self._timeout))
            else:
                cur = await conn.execute(
                    _USER_CONTEXT_SQL,
                    (principal.claims_json, self._timeout, principal.session_id, principal.user_id),
                )
                row = await cur.fetchone()
                state = row["state"] if row else None
                if state == "banned":
                    raise Forbidden("This account is suspended")
                if state != "ok":
                    raise Unauthorized("The session has ended; sign in again")
            yield conn

    @asynccontextmanager
    async def service_tx(self) -> AsyncIterator[Conn]:
        """A transaction as service_role (bypasses RLS). Only named cross-user entry points use it."""
        async with self._transaction() as conn:
            await conn.execute(_ROLE_CONTEXT_SQL, ("service_role", SERVICE_CLAIMS, self._timeout))
            yield conn

    async def ping(self) -> float:
        """Milliseconds for a round trip to the database; raises ServiceUnavailable when it is down."""
        started = time.perf_counter()
        async with self._transaction() as conn:
            await conn.execute("select 1")
        return (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        await self.source.close()


def to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
