"""Gigs: create, read, change, list, search and save. Every function runs in the caller's transaction
(RLS decides what they see); "may manage this gig" is always the database's private.can_manage_gig."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg import errors, sql

from shared.auth.principal import Principal
from shared.db import Conn
from shared.errors import Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from shared.models.gigs import Gig, GigFilters, GigInput, GigStatus, GigUpdate, MyGigsQuery, PageQuery, SaveResult

# Counting a huge result set exactly costs as much as reading it; past this many matches the listing
# reports this number as its total (and pages stop there). Documented in the report and the API docs.
COUNT_CAP = 10_000
# sort=relevance ranks the newest this-many matches (or as many as the asked page needs), not every
# match: ts_rank_cd over tens of thousands of rows cost ~200 ms at 1M gigs. Documented in the API docs.
RELEVANCE_CANDIDATES = 200
# The public listing is the one statement any anonymous caller can shape: it runs under this
# statement timeout (SET LOCAL, the request's own transaction), and a search that still hits it is
# answered 503 instead of occupying the database.
SEARCH_TIMEOUT = "2s"

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

_WINDOWS = {"day": "1 day", "week": "7 days", "month": "1 month"}
_TS_QUERY = "websearch_to_tsquery('english', %(search)s)"


@dataclass(frozen=True)
class GigSearch:
    """The listing's statements over the same conditions: a capped count, and a page fetched one of two ways.

    - count_sql: at most COUNT_CAP + 1 matches, counted in listing order: the planner walks the
      newest-first index when matches are frequent and reads a selective index (a GIN bitmap for a
      value nothing has) and sorts when they are rare.
    - counted_page_sql (search, skills or AI tools filters only): count and page in one statement,
      straight off the GIN bitmap: collects at most COUNT_CAP + 1 matches (no order, so it stops
      there), counts them and, when that is all of them, sorts the page from them. Far cheaper than the
      listing-order walk when matches are neither rare nor frequent (search=chatbot: ~10k heap pages
      instead of ~100k index entries), and one bitmap scan instead of two for few matches. Used
      unless the planner would read the table sequentially for it; see count_statement().
    - items_sql: walks the sort order's index (newest, budget) and keeps the matches; right when there
      are many matches (past COUNT_CAP, 20 matches are never far apart in any order).
    - matched_items_sql: collects every match first through the filters' indexes (GIN bitmaps for
      search, skills and AI tools; btree ranges for the rest) and sorts them; right when the count
      says there are at most COUNT_CAP. Without it a rare or made-up tag made items_sql walk every
      active gig looking for 20 matches that do not exist (1.2 s to 5.7 s at 1M gigs).
    """

    items_sql: str
    matched_items_sql: str
    count_sql: str
    counted_page_sql: str | None
    params: dict[str, Any]


def build_gig_search(filters: GigFilters) -> GigSearch:
    """The one SQL builder for GET /gigs (the plan test runs exactly these statements).

    It reads private.listed_gigs (active gigs, see the migration for why not public.gigs) so that
    the GIN and partial btree indexes can serve every filter; every index it relies on is partial
    on status = 'active'.
    """
    where: list[str] = []
    params: dict[str, Any] = {}
    # Search, skills and AI tools have GIN indexes, which answer only as bitmaps: with one of them the
    # capped count reads that bitmap (empty at once for a value nothing has) and stops at the cap.
    gin_filter = False
    if filters.search:
        where.append(f"g.search_vector @@ {_TS_QUERY}")
        params["search"] = filters.search
        gin_filter = True
    if filters.category:
        where.append("g.category = %(category)s")
        params["category"] = filters.category
    if filters.skills:
        where.append("g.skills_required && %(skills)s::text[]")
        params["skills"] = [s.lower() for s in filters.skills]
        gin_filter = True
    if filters.ai_tools:
        where.append("g.ai_tools_preferred && %(ai_tools)s::text[]")
        params["ai_tools"] = [t.lower() for t in filters.ai_tools]
        gin_filter = True
    # Budget filters match gigs whose [budget_min, budget_max] range overlaps the asked range;
    # a gig with only one bound is treated as that single amount, a gig with none never matches.
    # The amounts are compared as numeric (the column type), so the expression indexes
    # gigs_active_budget_low_idx / _high_idx apply; a float parameter would cast every row instead.
    if filters.budget_min is not None:
        where.append("coalesce(g.budget_max, g.budget_min) >= %(budget_min)s::numeric")
        params["budget_min"] = Decimal(str(filters.budget_min))
    if filters.budget_max is not None:
        where.append("coalesce(g.budget_min, g.budget_max) <= %(budget_max)s::numeric")
        params["budget_max"] = Decimal(str(filters.budget_max))
    if filters.location_type:
        where.append("g.location_type = %(location_type)s")
        params["location_type"] = filters.location_type
    if filters.posted_within:
        where.append("g.published_at >= now() - %(window)s::interval")
        params["window"] = _WINDOWS[filters.posted_within]
    if filters.organization_id:
        where.append("g.organization_id = %(organization_id)s")
        params["organization_id"] = filters.organization_id

    relevance = filters.sort == "relevance" and bool(filters.search)
    newest = ["published_at desc", "id desc"]
    keys = ["budget_max desc nulls last", "id desc"] if filters.sort == "budget" else newest

    def order(alias: str, key_list: list[str]) -> str:
        return ", ".join(f"{alias}.{k}" for k in key_list)

    condition = " and ".join(where) if where else "true"
    params["limit"] = filters.limit
    params["offset"] = (filters.page - 1) * filters.limit
    params["cap"] = COUNT_CAP + 1
    page = "limit %(limit)s offset %(offset)s"
    carried = "g.id, g.published_at, g.budget_max"
    matched_cte = f"with matched as materialized (select {carried} from private.listed_gigs g where {condition}) "
    if relevance:
        # The newest candidates (either way), ranked; ties newest first.
        params["candidates"] = max(RELEVANCE_CANDIDATES, params["offset"] + filters.limit)
        walk = (
            f"select {carried}, g.search_vector from private.listed_gigs g where {condition}"
            " order by g.published_at desc, g.id desc limit %(candidates)s"
        )
        # The collected matches carry no search vector (up to 10,001 of them): the candidates' are
        # read back by primary key.
        collect = (
            "select m.id, m.published_at, v.search_vector from (select m.* from matched m"
            " order by m.published_at desc, m.id desc limit %(candidates)s) m"
            " join private.listed_gigs v on v.id = m.id"
        )
        rank_keys = ["rank desc", "published_at desc", "id desc"]

        def ranked(candidates: str) -> str:
            return (
                f"select c.id, c.published_at, ts_rank_cd(c.search_vector, {_TS_QUERY}) as rank"
                f" from ({candidates}) c order by ts_rank_cd(c.search_vector, {_TS_QUERY}) desc,"
                f" c.published_at desc, c.id desc {page}"
            )

        walk_ids, matched_ids, outer_keys = ranked(walk), ranked(collect), rank_keys
    else:
        walk_ids = f"select {carried} from private.listed_gigs g where {condition} order by {order('g', keys)} {page}"
        matched_ids = f"select m.* from matched m order by {order('m', keys)} {page}"
        outer_keys = keys

    def page_of_ids(ids: str) -> str:
        # The page's ids first (index-driven), then its 20 rows and posters.
        return (
            f"select {GIG_COLUMNS}, {POSTER_JSON}{', k.rank' if relevance else ''} from ({ids}) k"
            " join private.listed_gigs g on g.id = k.id join public.profiles p on p.id = g.poster_id"
            f" order by {order('k', outer_keys)}"
        )

    items_sql = page_of_ids(walk_ids)
    matched_items_sql = matched_cte + page_of_ids(matched_ids)
    # Capped count in listing order: the planner walks an index and stops at the cap instead of
    # scanning every active gig to count them (or, for a rare value, reads that value's index).
    count_sql = (
        f"select count(*) as total from (select 1 from private.listed_gigs g where {condition}"
        " order by g.published_at desc, g.id desc limit %(cap)s) s"
    )
    counted_page_sql = (
        f"with matched as materialized (select {carried} from private.listed_gigs g where {condition}"
        f" limit %(cap)s) select t.total, x.* from (select count(*) as total from matched) t"
        f" left join ({page_of_ids(matched_ids)}) x on true order by {order('x', outer_keys)}"
        if gin_filter
        else None
    )
    return GigSearch(
        items_sql=items_sql,
        matched_items_sql=matched_items_sql,
        count_sql=count_sql,
        counted_page_sql=counted_page_sql,
        params=params,
    )


def _has_seq_scan(plan: dict[str, Any]) -> bool:
    return plan.get("Node Type") == "Seq Scan" or any(_has_seq_scan(p) for p in plan.get("Plans", []))


async def count_statement(conn: Conn, query: GigSearch) -> str:
    """The first statement to run: counted_page_sql, unless there is none or the planner would read
    the table sequentially for it (a value so frequent that the cap is reached within the first few
    thousand newest gigs: then the listing-order count walks as little and never reads the table)."""
    if query.counted_page_sql is None:
        return query.count_sql
    cur = await conn.execute("explain (format json) " + query.counted_page_sql, query.params)
    row = await cur.fetchone()
    document = next(iter(row.values())) if row else None
    plan = (json.loads(document) if isinstance(document, str) else document or [{}])[0].get("Plan", {})
    return query.count_sql if _has_seq_scan(plan) else query.counted_page_sql


async def search_gigs(conn: Conn, filters: GigFilters) -> tuple[list[Gig], int]:
    if (filters.page - 1) * filters.limit >= COUNT_CAP:
        raise ValidationFailed.field("page", f"Only the first {COUNT_CAP} results can be paged; narrow the search")
    query = build_gig_search(filters)
    await conn.execute(f"set local statement_timeout = '{SEARCH_TIMEOUT}'")
    try:
        first = await count_statement(conn, query)
        cur = await conn.execute(first, query.params)
        counted = await cur.fetchall()
        matches = int(counted[0]["total"]) if counted else 0
        if matches <= query.params["offset"]:
            rows: list[dict[str, Any]] = []  # nothing on this page (no match at all: no second statement)
        elif matches <= COUNT_CAP and first == query.counted_page_sql:
            rows = [r for r in counted if r["id"] is not None]  # the page came with the count
        else:
            # At most COUNT_CAP matches: collect them through their indexes; more: walk the sort order.
            statement = query.matched_items_sql if matches <= COUNT_CAP else query.items_sql
            cur = await conn.execute(statement, query.params)
            rows = await cur.fetchall()
    except errors.QueryCanceled as exc:
        raise ServiceUnavailable("This search takes too long right now; narrow it and try again") from exc
    await conn.execute("set local statement_timeout to default")
    return [Gig.model_validate(r) for r in rows], min(matches, COUNT_CAP)


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
