"""The throughput baseline: a bare ASGI app (no framework, no middleware, no validation, no models)
running the same SQL as GET /gigs/{id} and GET /gigs on a pool configured like the service's.

    uvicorn bench.baseline_app:app   (DATABASE_URL, BENCH_CLAIMS, BENCH_SESSION, BENCH_USER from the env)
"""

from __future__ import annotations

import json
import os
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from shared.db import _USER_CONTEXT_SQL
from shared.models.gigs import GigFilters
from shared.services.gig_search import build_gig_search, estimate_matches, walk_window
from shared.services.gigs import _SELECT_GIG

_pool: AsyncConnectionPool[Any] | None = None
_LISTING = build_gig_search(GigFilters())
CLAIMS = os.environ.get("BENCH_CLAIMS", "{}")
SESSION = os.environ.get("BENCH_SESSION")
USER = os.environ.get("BENCH_USER")


async def pool() -> AsyncConnectionPool[Any]:
    global _pool
    if _pool is None:
        _pool = AsyncConnectionPool(
            os.environ["DATABASE_URL"],
            min_size=1,
            max_size=int(os.environ.get("DB_POOL_MAX_SIZE", "10")),
            open=False,
            connection_class=AsyncConnection,
            kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
        )
        await _pool.open()
    return _pool


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    p = await pool()
    async with p.connection() as conn, conn.transaction():
        cur = await conn.execute(_USER_CONTEXT_SQL, (CLAIMS, "10000", SESSION, USER))
        await cur.fetchone()
        if path.endswith("/gigs"):
            # The service's statements for the default listing: its settings, the estimate, the walk.
            await conn.execute("set local statement_timeout = '2s'; set local max_parallel_workers_per_gather = 0")
            matching, listed = await estimate_matches(conn, _LISTING)
            window = walk_window(_LISTING, matching, listed)
            cur = await conn.execute(_LISTING.walk_sql, {**_LISTING.params, "window": window})
            data: Any = {"items": (await cur.fetchall())[: _LISTING.params["limit"]], "total": matching}
        else:
            target = UUID(path.rsplit("/", 1)[1])
            cur = await conn.execute(_SELECT_GIG + " where g.id = %s", (target,))
            data = await cur.fetchone()
            await conn.execute("select private.record_gig_view(%s, %s)", (target, f"user:{USER}"))
    body = json.dumps({"success": True, "data": data}, default=str).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
