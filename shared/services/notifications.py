"""The caller's notifications (written by database triggers with their cause); RLS keeps each user to
their own, and only read_at is writable."""

from __future__ import annotations

from uuid import UUID

from shared.db import Conn
from shared.errors import NotFound
from shared.models.notifications import Notification

_COLUMNS = "n.id, n.user_id, n.type, n.title, n.body, n.data, n.read_at, n.created_at"


async def list_for_caller(conn: Conn, *, unread_only: bool, page: int, limit: int) -> tuple[list[Notification], int]:
    unread = " and n.read_at is null" if unread_only else ""
    cur = await conn.execute(
        f"""select {_COLUMNS}, count(*) over () as total from public.notifications n
            where n.user_id = (select auth.uid()){unread}
            order by n.created_at desc, n.id desc limit %s offset %s""",
        (limit, (page - 1) * limit),
    )
    rows = await cur.fetchall()
    if rows:
        total = int(rows[0]["total"])
    else:
        cur = await conn.execute(
            f"select count(*) as n from public.notifications n where n.user_id = (select auth.uid()){unread}"
        )
        row = await cur.fetchone()
        total = int(row["n"]) if row else 0
    return [Notification.model_validate(r) for r in rows], total


async def mark_read(conn: Conn, notification_id: UUID) -> Notification:
    cur = await conn.execute(
        f"update public.notifications n set read_at = now() where n.id = %s returning {_COLUMNS}",
        (notification_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Notification not found")
    return Notification.model_validate(row)


async def mark_all_read(conn: Conn) -> int:
    cur = await conn.execute(
        "update public.notifications n set read_at = now() where n.user_id = (select auth.uid()) and n.read_at is null"
    )
    return cur.rowcount


async def unread_count(conn: Conn) -> int:
    cur = await conn.execute(
        "select count(*) as n from public.notifications n where n.user_id = (select auth.uid()) and n.read_at is null"
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0
