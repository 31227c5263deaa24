"""(3) Request overhead: GET /gigs/{id} through the whole composed app in process (ASGI call: the
middlewares, token verification, the user transaction with role, claims and session check, the query,
the view record, the envelope, JSON) against the bare user-context transaction running the very same
statements on the same pool with no framework at all."""

from __future__ import annotations

import logging
import os
from typing import Any
from uuid import UUID

from bench.common import Interleaved, active_gig, ratio, summary
from bench.session import BenchUser
from shared.db import Database


async def asgi_get(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One request straight into the ASGI app, the way uvicorn or Mangum hands it over."""
    status = 0
    chunks: list[bytes] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def silence_access_log() -> None:
    """Keep the log lines (their formatting is part of the cost) but not on our stdout (the JSON)."""
    for handler in logging.getLogger("ugig").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process


async def run(url: str, rounds: int, user: BenchUser) -> dict[str, Any]:
    from functions.app import app
    from shared.db import _USER_CONTEXT_SQL  # the exact statement user_tx runs
    from shared.services.gigs import _SELECT_GIG

    silence_access_log()
    db: Database = app.state.db if getattr(app.state, "db", None) else Database.from_settings(user.settings)
    app.state.db = db
    target = UUID(active_gig(url))
    path = f"/api/v1/gigs/{target}"
    headers = [(b"authorization", f"Bearer {user.token}".encode()), (b"user-agent", b"bench")]
    status, body = await asgi_get(app, path, headers)
    assert status == 200, body[:300]
    principal = user.principal
    viewer = f"user:{principal.user_id}"

    calls = [0]

    async def full_stack() -> None:
        # A different client address per call (loopback is a trusted proxy): the per-IP limiter does
        # its work on every request without refusing a benchmark that is one "client" on purpose.
        calls[0] += 1
        n = calls[0]
        forwarded = (b"x-forwarded-for", f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}".encode())
        code, answer = await asgi_get(app, path, [*headers, forwarded])
        assert code == 200, answer[:300]

    async def bare() -> None:
        async with db.source.connection() as conn, conn.transaction():
            cur = await conn.execute(
                _USER_CONTEXT_SQL, (principal.claims_json, "10000", principal.session_id, principal.user_id)
            )
            await cur.fetchone()
            cur = await conn.execute(_SELECT_GIG + " where g.id = %s", (target,))
            await cur.fetchone()
            await conn.execute("select private.record_gig_view(%s, %s)", (target, viewer))

    samples = await Interleaved({"full_stack": full_stack, "bare_transaction": bare}).run(rounds, warmup=50)
    full, base = summary(samples["full_stack"]), summary(samples["bare_transaction"])
    return {
        "full_stack": full,
        "bare_transaction": base,
        "ratio_p50": ratio(full["p50_ms"], base["p50_ms"]),
        "ratio_mean": ratio(full["mean_ms"], base["mean_ms"]),
        "target_ratio": 3,
    }
