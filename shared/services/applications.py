"""Applications: apply, withdraw, list, and move along the legal statuses (one by one or all-or-nothing
in bulk). The database's triggers are the last word on every rule; these functions check first so
callers get the contract's 404/403 distinctions and clear messages."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from shared.auth.principal import Principal
from shared.db import Conn
from shared.errors import Conflict, Forbidden, NotFound
from shared.models.applications import (
    Application,
    ApplicationInput,
    ApplicationsQuery,
    ApplicationStatus,
    BulkStatusResult,
)
from shared.services.gigs import fetch_gigs

APP_COLUMNS = (
    "a.id, a.gig_id, a.applicant_id, a.cover_letter, a.proposed_rate, a.proposed_timeline, a.portfolio_items,"
    " a.ai_tools_to_use, a.status, a.created_at, a.updated_at"
)
APPLICANT_JSON = (
    "json_build_object('id', p.id, 'username', p.username, 'full_name', p.full_name, 'avatar_url', p.avatar_url,"
    " 'rating_average', p.rating_average, 'rating_count', p.rating_count) as applicant"
)


async def _get(conn: Conn, application_id: UUID) -> Application:
    cur = await conn.execute(
        f"select {APP_COLUMNS}, {APPLICANT_JSON} from public.applications a"
        " join public.profiles p on p.id = a.applicant_id where a.id = %s",
        (application_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Application not found")
    return Application.model_validate(row)


async def submit(conn: Conn, principal: Principal, data: ApplicationInput) -> Application:
    # A gig the caller cannot see (someone's draft) is 404 before the trigger could say more.
    cur = await conn.execute("select 1 from public.gigs where id = %s", (data.gig_id,))
    if await cur.fetchone() is None:
        raise NotFound("Gig not found")
    values: dict[str, Any] = data.model_dump()
    values["applicant_id"] = principal.user_id
    statement = sql.SQL("insert into public.applications ({}) values ({}) returning id").format(
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(sql.Placeholder(c) for c in values),
    )
    try:
        cur = await conn.execute(statement, values)
    except psycopg.errors.UniqueViolation as exc:
        # Two simultaneous submissions by the same person: the unique index decides.
        raise Conflict("You already applied to this gig") from exc
    row = await cur.fetchone()
    assert row is not None
    application = await _get(conn, row["id"])
    application.gig = (await fetch_gigs(conn, [data.gig_id])).get(data.gig_id)
    return application


async def _visible(conn: Conn, application_id: UUID) -> dict[str, Any]:
    cur = await conn.execute(
        "select a.id, a.gig_id, a.applicant_id, a.status, private.can_manage_gig(a.gig_id) as manages"
        " from public.applications a where a.id = %s for update",
        (application_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Application not found")
    return dict(row)


async def withdraw(conn: Conn, principal: Principal, application_id: UUID) -> Application:
    row = await _visible(conn, application_id)
    if row["applicant_id"] != principal.user_id:
        raise Forbidden("Only the applicant can withdraw an application")
    await conn.execute("update public.applications set status = 'withdrawn' where id = %s", (application_id,))
    return await _get(conn, application_id)


async def set_status(conn: Conn, principal: Principal, application_id: UUID, status: ApplicationStatus) -> Application:
    row = await _visible(conn, application_id)
    if status == "withdrawn":
        if row["applicant_id"] != principal.user_id:
            raise Forbidden("Only the applicant can withdraw an application")
    elif not row["manages"]:
        raise Forbidden("Only the gig's poster can change this status")
    await conn.execute("update public.applications set status = %s where id = %s", (status, application_id))
    return await _get(conn, application_id)


async def bulk_set_status(
    conn: Conn, principal: Principal, ids: list[UUID], status: ApplicationStatus
) -> BulkStatusResult:
    """All or nothing: every application is checked (and locked) first, then one statement moves them all;
    the trigger still refuses any illegal move, which aborts the whole statement."""
    cur = await conn.execute(
        "select a.id, a.applicant_id, a.status, private.can_manage_gig(a.gig_id) as manages,"
        " private.application_status_allowed(a.status, %(status)s) as allowed"
        " from public.applications a where a.id = any(%(ids)s) order by a.id for update",
        {"ids": ids, "status": status},
    )
    rows = {r["id"]: r for r in await cur.fetchall()}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound("Applications not found: " + ", ".join(map(str, missing)))
    if status == "withdrawn":
        not_yours = [i for i in ids if rows[i]["applicant_id"] != principal.user_id]
        if not_yours:
            raise Forbidden("Only the applicant can withdraw: " + ", ".join(map(str, not_yours)))
    else:
        not_managed = [i for i in ids if not rows[i]["manages"]]
        if not_managed:
            raise Forbidden("Only the gig's poster can change these: " + ", ".join(map(str, not_managed)))
    illegal = [i for i in ids if not rows[i]["allowed"] and rows[i]["status"] != status]
    if illegal:
        raise Conflict(f"These applications cannot become {status}: " + ", ".join(map(str, illegal)))
    changing = [i for i in ids if rows[i]["status"] != status]
    if changing:
        await conn.execute("update public.applications set status = %s where id = any(%s)", (status, changing))
    return BulkStatusResult(status=status, updated=changing)


async def mine(conn: Conn, principal: Principal, query: ApplicationsQuery) -> tuple[list[Application], int]:
    """The caller's applications with their gig (when the caller can still see it), newest first."""
    condition = "a.applicant_id = %(uid)s" + (" and a.status = %(status)s" if query.status else "")
    params: dict[str, Any] = {"uid": principal.user_id, "status": query.status}
    cur = await conn.execute(f"select count(*) as total from public.applications a where {condition}", params)
    row = await cur.fetchone()
    cur = await conn.execute(
        f"select {APP_COLUMNS} from public.applications a where {condition}"
        " order by a.created_at desc, a.id desc limit %(limit)s offset %(offset)s",
        {**params, "limit": query.limit, "offset": (query.page - 1) * query.limit},
    )
    items = [Application.model_validate(r) for r in await cur.fetchall()]
    gigs = await fetch_gigs(conn, list({a.gig_id for a in items}))
    for item in items:
        item.gig = gigs.get(item.gig_id)
    return items, int(row["total"]) if row else 0


async def for_gig(conn: Conn, gig_id: UUID, query: ApplicationsQuery) -> tuple[list[Application], int]:
    """A gig's applications with each applicant, for its managers only (404 for anyone else)."""
    cur = await conn.execute("select private.can_manage_gig(%s) as manages", (gig_id,))
    row = await cur.fetchone()
    if not row or not row["manages"]:
        raise NotFound("Gig not found")
    condition = "a.gig_id = %(gig)s" + (" and a.status = %(status)s" if query.status else "")
    params: dict[str, Any] = {"gig": gig_id, "status": query.status}
    cur = await conn.execute(f"select count(*) as total from public.applications a where {condition}", params)
    total_row = await cur.fetchone()
    cur = await conn.execute(
        f"select {APP_COLUMNS}, {APPLICANT_JSON} from public.applications a"
        f" join public.profiles p on p.id = a.applicant_id where {condition}"
        " order by a.created_at desc, a.id desc limit %(limit)s offset %(offset)s",
        {**params, "limit": query.limit, "offset": (query.page - 1) * query.limit},
    )
    items = [Application.model_validate(r) for r in await cur.fetchall()]
    return items, int(total_row["total"]) if total_row else 0
