"""Gigs: create, read, change and save (the public listing's search is shared.services.gig_search).
Every function runs in the caller's transaction (RLS decides what they see); "may manage this gig" is
always the database's private.can_manage_gig."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import sql

from shared.auth.principal import Principal
from shared.db import Conn
from shared.errors import Forbidden, NotFound
from shared.models.gigs import Gig, GigInput, GigStatus, GigUpdate, MyGigsQuery, PageQuery, SaveResult

GIG_COLUMNS = (
    "g.id, g.poster_id, g.organization_id, g.title, g.description, g.category, g.skills_required,"
    " g.ai_tools_preferred, g.budget_type, g.budget_min, g.budget_max, g.duration, g.location_type, g.location,"
    " g.status, g.applications_count, g.views_count, g.published_at, g.created_at, g.updated_at"
)
POSTER_JSON = (
    "json_build_object('id', p.id, 'username', p.username, 'full_name', p.full_name, 'avatar_url', p.avatar_url,"
    " 'rating_average', p.rating_average, 'rating_count', p.rating_count) as poster"
)
_SELECT_GIG = f"select {GIG_COLUMNS}, {POSTER_JSON} from public.gigs g join public.profiles p on p.id = g.poster_id"


async def fetch_gigs(conn: Conn, ids: list[UUID]) -> dict[UUID, Gig]:
    """The gigs among ids that the caller can see."""
    if not ids:
        return {}
    cur = await conn.execute(_SELECT_GIG + " where g.id = any(%s)", (ids,))
    return {r["id"]: Gig.model_validate(r) for r in await cur.fetchall()}


async def get_gig(conn: Conn, gig_id: UUID) -> Gig:
    cur = await conn.execute(_SELECT_GIG + " where g.id = %s", (gig_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Gig not found")
    return Gig.model_validate(row)


async def view_gig(conn: Conn, gig_id: UUID, viewer_key: str | None) -> Gig:
    """GET /gigs/{id}: the gig, and a view recorded for anyone but its managers (folded later)."""
    gig = await get_gig(conn, gig_id)
    if viewer_key:
        await conn.execute("select private.record_gig_view(%s, %s)", (gig_id, viewer_key))
    return gig


async def _require_manager(conn: Conn, gig_id: UUID) -> None:
    """404 when the caller cannot see the gig, 403 when they can but may not manage it."""
    cur = await conn.execute(
        "select private.can_manage_gig(g.id) as manages from public.gigs g where g.id = %s", (gig_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Gig not found")
    if not row["manages"]:
        raise Forbidden("Only the gig's poster can do this")


def _lower_tags(values: dict[str, Any]) -> dict[str, Any]:
    # Tags are matched by overlap; one spelling keeps "Python" and "python" the same skill.
    for key in ("skills_required", "ai_tools_preferred"):
        if values.get(key) is not None:
            values[key] = list(dict.fromkeys(v.lower() for v in values[key]))
    return values


async def create_gig(conn: Conn, principal: Principal, data: GigInput) -> Gig:
    values = _lower_tags(data.model_dump())
    values["poster_id"] = principal.user_id
    if values["organization_id"] is not None:
        cur = await conn.execute("select private.can_post_for_organization(%s) as ok", (values["organization_id"],))
        row = await cur.fetchone()
        if not row or not row["ok"]:
            raise Forbidden("You cannot post gigs for this organization")
    columns = list(values)
    statement = sql.SQL("insert into public.gigs ({}) values ({}) returning id").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder(c) for c in columns),
    )
    cur = await conn.execute(statement, values)
    row = await cur.fetchone()
    assert row is not None
    return await get_gig(conn, row["id"])


async def update_gig(conn: Conn, gig_id: UUID, data: GigUpdate) -> Gig:
    await _require_manager(conn, gig_id)
    values = _lower_tags(data.model_dump(exclude_unset=True))
    if values:
        statement = sql.SQL("update public.gigs set {} where id = %(id)s").format(
            sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c)) for c in values)
        )
        await conn.execute(statement, {**values, "id": gig_id})
    return await get_gig(conn, gig_id)


async def set_gig_status(conn: Conn, gig_id: UUID, status: GigStatus) -> Gig:
    await _require_manager(conn, gig_id)
    await conn.execute("update public.gigs set status = %s where id = %s", (status, gig_id))
    return await get_gig(conn, gig_id)


async def delete_gig(conn: Conn, gig_id: UUID) -> None:
    """Deletes the gig with its applications and bookmarks (cascade): the poster removes it for good."""
    await _require_manager(conn, gig_id)
    await conn.execute("delete from public.gigs where id = %s", (gig_id,))


async def my_gigs(conn: Conn, principal: Principal, query: MyGigsQuery) -> tuple[list[Gig], int]:
    condition = "g.poster_id = %(uid)s" + (" and g.status = %(status)s" if query.status else "")
    params = {"uid": principal.user_id, "status": query.status}
    cur = await conn.execute(f"select count(*) as total from public.gigs g where {condition}", params)
    row = await cur.fetchone()
    cur = await conn.execute(
        _SELECT_GIG + f" where {condition} order by g.created_at desc, g.id desc limit %(limit)s offset %(offset)s",
        {**params, "limit": query.limit, "offset": (query.page - 1) * query.limit},
    )
    return [Gig.model_validate(r) for r in await cur.fetchall()], int(row["total"]) if row else 0


async def save_gig(conn: Conn, principal: Principal, gig_id: UUID) -> SaveResult:
    await get_gig(conn, gig_id)  # 404 for a gig the caller cannot see
    await conn.execute(
        "insert into public.saved_gigs (user_id, gig_id) values (%s, %s) on conflict do nothing",
        (principal.user_id, gig_id),
    )
    return SaveResult(gig_id=gig_id, saved=True)


async def unsave_gig(conn: Conn, principal: Principal, gig_id: UUID) -> SaveResult:
    # Idempotent, and works for a gig that has since become invisible to the caller.
    await conn.execute("delete from public.saved_gigs where user_id = %s and gig_id = %s", (principal.user_id, gig_id))
    return SaveResult(gig_id=gig_id, saved=False)


async def saved_gigs(conn: Conn, principal: Principal, query: PageQuery) -> tuple[list[Gig], int]:
    """Saved gigs the caller can still see, most recently saved first."""
    joined = "from public.saved_gigs s join public.gigs g on g.id = s.gig_id"
    params: dict[str, Any] = {"uid": principal.user_id}
    cur = await conn.execute(f"select count(*) as total {joined} where s.user_id = %(uid)s", params)
    row = await cur.fetchone()
    cur = await conn.execute(
        f"select {GIG_COLUMNS}, {POSTER_JSON} {joined} join public.profiles p on p.id = g.poster_id"
        " where s.user_id = %(uid)s order by s.created_at desc, g.id desc limit %(limit)s offset %(offset)s",
        {**params, "limit": query.limit, "offset": (query.page - 1) * query.limit},
    )
    return [Gig.model_validate(r) for r in await cur.fetchall()], int(row["total"]) if row else 0
