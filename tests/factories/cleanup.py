"""Rows the cleanup cron acts on, inserted as the test's owner role (setup, like other factories)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from shared.db import Conn
from tests.factories.users import as_owner


async def _one(conn: Conn, sql: str, params: tuple[Any, ...]) -> dict[str, Any]:
    await as_owner(conn)
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def organization(conn: Conn) -> uuid.UUID:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    row = await _one(conn, "insert into public.organizations (name, slug) values (%s, %s) returning id", (slug, slug))
    return uuid.UUID(str(row["id"]))


async def invitation(conn: Conn, org_id: uuid.UUID, *, expires_in: timedelta, status: str = "pending") -> uuid.UUID:
    row = await _one(
        conn,
        "insert into public.invitations (organization_id, email, expires_at) values (%s, %s, now() + %s) returning id",
        (org_id, f"{uuid.uuid4().hex[:10]}@example.test", expires_in),
    )
    if status != "pending":
        await conn.execute("update public.invitations set status = %s where id = %s", (status, row["id"]))
    return uuid.UUID(str(row["id"]))


async def invitation_status(conn: Conn, invitation_id: uuid.UUID) -> str:
    row = await _one(conn, "select status from public.invitations where id = %s", (invitation_id,))
    return str(row["status"])


async def rate_limit_window(conn: Conn, key: str, *, ends_in: timedelta) -> None:
    await as_owner(conn)
    await conn.execute(
        "insert into private.rate_limit_counters (key, window_start, expires_at, count)"
        " values (%s, now() + %s - interval '1 minute', now() + %s, 3)",
        (key, ends_in, ends_in),
    )


async def rate_limit_keys(conn: Conn) -> set[str]:
    await as_owner(conn)
    cur = await conn.execute("select key from private.rate_limit_counters")
    return {str(r["key"]) for r in await cur.fetchall()}


async def export_row(conn: Conn, path: str, *, expires_in: timedelta) -> uuid.UUID:
    row = await _one(
        conn,
        "insert into public.exports (path, format, size, row_count, expires_at) values (%s, 'csv', 10, 1, now() + %s)"
        " returning id",
        (path, expires_in),
    )
    return uuid.UUID(str(row["id"]))


async def export_paths(conn: Conn) -> set[str]:
    await as_owner(conn)
    cur = await conn.execute("select path from public.exports")
    return {str(r["path"]) for r in await cur.fetchall()}
