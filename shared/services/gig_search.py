"""GET /gigs: search, filters, sort and total over every active gig, planned for a million of them.

A listing is answered in at most three statements (bench/RESULTS.md has the figures):

1. The planner's estimate of how many gigs match (EXPLAIN, ~0.3 ms), from the statistics of the filter
   document (private.gig_filter_document: words, category, location type, skills, AI tools) and of the
   budget and date columns.
2. Many (ESTIMATE_ABOVE or more): walk the sort order's index and keep the matches. Twenty frequent
   matches are never far apart, and the walk is bounded by a window of the sort order sized from the
   estimate: when the estimate was wrong and the window runs out, step 3 answers instead. The total
   is the estimate, rounded ("about 75,000"), unless the page is the last one; `total_exact` says which.
3. Few: collect every match through the indexes (one GIN bitmap for the words and tags, btree ranges
   for the rest), count them exactly and sort the page from them, in one statement. Counting stops at
   COUNT_CAP matches; past that the total is COUNT_CAP and inexact.

Counting a frequent value exactly would cost as much as reading every match (tens of thousands of heap
pages at 1M gigs); an estimate answers that in a fraction of a millisecond, and it is what the planner
already relies on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import errors

from shared.db import Conn
from shared.errors import ServiceUnavailable, ValidationFailed
from shared.models.gigs import Gig, GigFilters
from shared.services.gigs import GIG_COLUMNS, POSTER_JSON

# Past this many matches only pages within the first COUNT_CAP can be asked for, and an exact count
# stops here.
COUNT_CAP = 10_000
# Searches the planner expects to match at least this many gigs are paged by walking the sort order and
# totalled by the estimate; below, matches are collected, counted and sorted. Around here both cost
# the same (~5,000 heap rows: ~8 ms at 1M gigs on 2 cores).
ESTIMATE_ABOVE = 5_000
# The walk may read this many times the rows the estimate says it needs, and never fewer than
# WINDOW_MIN, before the exact way answers instead (an estimate can be far off for words or tags that
# rarely go together).
WINDOW_SLACK = 8
WINDOW_MIN = 2_000
# sort=relevance ranks the newest this-many matches (or as many as the asked page needs), not every
# match: ts_rank_cd over tens of thousands of rows cost ~200 ms at 1M gigs. Documented in the API docs.
RELEVANCE_CANDIDATES = 200
# The listing is the one statement any anonymous caller can shape: it runs under this statement
# timeout (SET LOCAL, the request's own transaction); a search that still hits it is answered 503.
SEARCH_TIMEOUT = "2s"

_WINDOWS = {"day": "1 day", "week": "7 days", "month": "1 month"}
_TS_QUERY = "websearch_to_tsquery('english', %(search)s)"
_DOCUMENT = (
    "private.gig_filter_document(g.search_vector, g.category, g.location_type, g.skills_required, g.ai_tools_preferred)"
)
_UNBOUNDED = 2**62


@dataclass(frozen=True)
class GigSearch:
    """The listing's statements over the same filters (the plan tests run exactly these).

    - estimate_sql: EXPLAIN target; its Append has two children: the matches, and every listed gig
      (same matches as counted_sql, written with the lexemes the statistics track).
    - walk_sql: the page in sort order, one row more than the page (is there a next page?), reading
      at most %(window)s gigs of the sort order (the filters as conditions on the columns).
    - counted_sql: at most COUNT_CAP + 1 matches collected through the indexes (the filters as one
      document query), counted, and the page sorted from them when that is all of them.
    """

    estimate_sql: str
    walk_sql: str
    counted_sql: str
    params: dict[str, Any]


@dataclass(frozen=True)
class GigResults:
    items: list[Gig]
    total: int
    has_more: bool
    total_exact: bool


def build_gig_search(filters: GigFilters) -> GigSearch:
    """Both forms of every filter: on the columns (tested row by row in a walk) and as one query over
    the filter document (answered by gigs_active_filter_idx). Everything reads private.listed_gigs
    (the active gigs; every index it relies on is partial on status = 'active')."""
    params: dict[str, Any] = {}
    on_columns: list[str] = []
    tag_queries: list[str] = []  # tsqueries over the filter document's tags, and-ed with the words
    ranges: list[str] = []  # conditions both forms share (btree ranges and equalities)
    if filters.search:
        params["search"] = filters.search
        on_columns.append(f"g.search_vector @@ {_TS_QUERY}")
        # A search of stop words only ("the") is an empty query: it matches nothing on the column,
        # and must not vanish from the and-ed document query either.
        ranges.append(f"numnode({_TS_QUERY}) > 0")
    for kind, column, values in (
        ("skill", "skills_required", filters.skills),
        ("tool", "ai_tools_preferred", filters.ai_tools),
    ):
        if values:
            params[kind] = [v.lower() for v in values]  # tags are stored lower case (gigs._lower_tags)
            on_columns.append(f"g.{column} && %({kind})s::text[]")
            tag_queries.append(f"private.gig_tag_query('{kind}', %({kind})s::text[])")
    for kind, column, value in (
        ("category", "category", filters.category),
        ("location", "location_type", filters.location_type),
    ):
        if value:
            params[kind] = value
            on_columns.append(f"g.{column} = %({kind})s")
            tag_queries.append(f"private.gig_tag_query('{kind}', array[%({kind})s::text])")
    # Budget filters match gigs whose [budget_min, budget_max] range overlaps the asked range; a gig
    # with one bound is that single amount, a gig with none never matches. Compared as numeric (the
    # column type), so gigs_active_budget_low_idx / _high_idx and their statistics apply.
    if filters.budget_min is not None:
        ranges.append("coalesce(g.budget_max, g.budget_min) >= %(budget_min)s::numeric")
        params["budget_min"] = Decimal(str(filters.budget_min))
    if filters.budget_max is not None:
        ranges.append("coalesce(g.budget_min, g.budget_max) <= %(budget_max)s::numeric")
        params["budget_max"] = Decimal(str(filters.budget_max))
    if filters.posted_within:
        ranges.append("g.published_at >= now() - %(within)s::interval")
        params["within"] = _WINDOWS[filters.posted_within]
    if filters.organization_id:
        ranges.append("g.organization_id = %(organization_id)s")
        params["organization_id"] = filters.organization_id

    walk_condition = " and ".join(on_columns + ranges) or "true"
    # Category or location alone are btree lookups; with a word or a tag, GIN intersects them all.
    if filters.search or filters.skills or filters.ai_tools:

        def on_document(words: str | None) -> str:
            query = " && ".join([words, *tag_queries] if words else tag_queries)
            return " and ".join([f"{_DOCUMENT} @@ ({query})", *ranges])

        # Within a category the words are collected as the category's own lexemes ("in <category>
        # <word>"): GIN reads the category's share of each word's posting list, not all of it. The
        # estimate keeps the plain words: the statistics track them, not every word of every category.
        words = _TS_QUERY if filters.search else None
        in_category = f"private.gig_words_in_category({_TS_QUERY}, %(category)s)"
        estimated = on_document(words)
        indexed_condition = on_document(in_category if words and filters.category else words)
    else:
        estimated = indexed_condition = " and ".join(on_columns + ranges) or "true"

    offset = (filters.page - 1) * filters.limit
    relevance = filters.sort == "relevance" and bool(filters.search)
    params.update(limit=filters.limit, offset=offset, probe=filters.limit + 1, cap=COUNT_CAP + 1)
    newest = ["published_at desc", "id desc"]
    keys = ["budget_max desc nulls last", "id desc"] if filters.sort == "budget" and not relevance else newest

    def order(alias: str, key_list: list[str]) -> str:
        return ", ".join(f"{alias}.{k}" for k in key_list)

    carried = "g.id, g.published_at, g.budget_max"
    if relevance:
        params["candidates"] = max(RELEVANCE_CANDIDATES, offset + filters.limit + 1)
        rank = f"ts_rank_cd(c.search_vector, {_TS_QUERY})"

        def ranked(candidates: str, page: str) -> str:
            # found: how many candidates there were (a walk that found fewer ranked the wrong set).
            return (
                f"select c.id, c.published_at, {rank} as rank, count(*) over () as found from ({candidates}) c"
                f" order by {rank} desc, c.published_at desc, c.id desc {page}"
            )

        walk_ids = ranked(
            f"select {carried}, g.search_vector from (select g.* from private.listed_gigs g"
            f" order by {order('g', newest)} limit %(window)s) g"
            f" where {walk_condition} order by {order('g', newest)} limit %(candidates)s",
            "limit %(probe)s offset %(offset)s",
        )
        # The collected matches carry no search vector (up to 10,001 of them): the candidates' are read
        # back by primary key.
        counted_ids = ranked(
            "select m.id, m.published_at, v.search_vector from (select m.* from matched m"
            f" order by {order('m', newest)} limit %(candidates)s) m join private.listed_gigs v on v.id = m.id",
            "limit %(limit)s offset %(offset)s",
        )
        outer_keys = ["rank desc", *newest]
    else:
        # The window is the first %(window)s gigs of the sort order: a walk that finds its page inside
        # it has found exactly the page an unbounded walk would.
        walk_ids = (
            f"select {carried} from (select g.* from private.listed_gigs g order by {order('g', keys)}"
            f" limit %(window)s) g where {walk_condition}"
            f" order by {order('g', keys)} limit %(probe)s offset %(offset)s"
        )
        counted_ids = f"select m.* from matched m order by {order('m', keys)} limit %(limit)s offset %(offset)s"
        outer_keys = keys

    def page_of_ids(ids: str) -> str:
        # The page's ids first (index-driven), then its rows and posters.
        return (
            f"select {GIG_COLUMNS}, {POSTER_JSON}{', k.rank, k.found' if relevance else ''} from ({ids}) k"
            " join private.listed_gigs g on g.id = k.id join public.profiles p on p.id = g.poster_id"
            f" order by {order('k', outer_keys)}"
        )

    return GigSearch(
        estimate_sql=(
            f"select 1 from private.listed_gigs g where {estimated} union all select 1 from private.listed_gigs g"
        ),
        walk_sql=page_of_ids(walk_ids),
        counted_sql=(
            f"with matched as materialized (select {carried} from private.listed_gigs g where {indexed_condition}"
            f" limit %(cap)s) select t.total, x.* from (select count(*) as total from matched) t"
            f" left join ({page_of_ids(counted_ids)}) x on true order by {order('x', outer_keys)}"
        ),
        params=params,
    )


async def estimate_matches(conn: Conn, query: GigSearch) -> tuple[int, int]:
    """The planner's estimates: (matching gigs, listed gigs)."""
    cur = await conn.execute("explain (format json) " + query.estimate_sql, query.params)
    row = await cur.fetchone()
    document = next(iter(row.values())) if row else "[{}]"
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    children = plan.get("Plans", [])
    if plan.get("Node Type") == "Append" and len(children) == 2:
        return int(children[0]["Plan Rows"]), max(int(children[1]["Plan Rows"]), 1)
    # The planner proved the filters match nothing (e.g. a search of stop words) and left one side.
    return 0, max(int(plan.get("Plan Rows", 1)), 1)


def about(estimate: int) -> int:
    """An estimate as people read one: two significant figures (75,312 -> 75,000)."""
    if estimate < 100:
        return estimate
    unit: int = 10 ** (len(str(estimate)) - 2)
    return round(estimate / unit) * unit


def walk_needs(query: GigSearch) -> int:
    """How many matches the walk must find: the page and the row after it (or the relevance candidates)."""
    return int(query.params.get("candidates", query.params["offset"] + query.params["probe"]))


def walk_window(query: GigSearch, matching: int, listed: int) -> int:
    """How far down the sort order the walk may read: WINDOW_SLACK times what the estimate says it needs."""
    return max(WINDOW_MIN, math.ceil(WINDOW_SLACK * walk_needs(query) * listed / max(matching, 1)))


async def search_gigs(conn: Conn, filters: GigFilters) -> GigResults:
    offset = (filters.page - 1) * filters.limit
    if offset >= COUNT_CAP:
        raise ValidationFailed.field("page", f"Only the first {COUNT_CAP} results can be paged; narrow the search")
    query = build_gig_search(filters)
    # Every statement here is index-driven and short: parallel workers would only cost their start-up
    # (and the estimate reads the plan's row counts, which a Gather divides among workers). SET LOCAL:
    # both end with the caller's transaction (GET /gigs commits right after; no reset round trip).
    await conn.execute(
        f"set local statement_timeout = '{SEARCH_TIMEOUT}'; set local max_parallel_workers_per_gather = 0"
    )
    try:
        results = None
        matching, listed = await estimate_matches(conn, query)
        if matching >= ESTIMATE_ABOVE:
            results = await _walk(conn, query, filters, matching, listed)
        if results is None:
            results = await _collect(conn, query, filters, listed)
    except errors.QueryCanceled as exc:
        raise ServiceUnavailable("This search takes too long right now; narrow it and try again") from exc
    return results


async def _walked_page(conn: Conn, query: GigSearch, window: int) -> list[dict[str, Any]] | None:
    """The page and the row after it, walking at most `window` gigs of the sort order; None when the
    window ran out first (the estimate was far off, or this is the last page)."""
    cur = await conn.execute(query.walk_sql, {**query.params, "window": window})
    rows = await cur.fetchall()
    needed = walk_needs(query)
    if len(rows) < query.params["probe"] or rows[0].get("found", needed) < needed:
        return None
    return rows


async def _walk(conn: Conn, query: GigSearch, filters: GigFilters, matching: int, listed: int) -> GigResults | None:
    rows = await _walked_page(conn, query, walk_window(query, matching, listed))
    if rows is None:
        return None
    offset = query.params["offset"]
    return GigResults(
        items=[Gig.model_validate(r) for r in rows[: filters.limit]],
        total=max(about(matching), offset + len(rows)),
        has_more=offset + filters.limit < COUNT_CAP,
        total_exact=False,
    )


async def _collect(conn: Conn, query: GigSearch, filters: GigFilters, listed: int) -> GigResults:
    """Every match collected through the indexes and counted (up to COUNT_CAP), the page sorted from them."""
    offset = query.params["offset"]
    cur = await conn.execute(query.counted_sql, query.params)
    counted = await cur.fetchall()
    matches = int(counted[0]["total"]) if counted else 0
    if matches > COUNT_CAP:
        # Far more than the planner thought: the collection stopped at the cap, so the page comes from
        # a walk, sized for what is now known (at least COUNT_CAP + 1 matches); the unbounded walk
        # is the last resort (under the statement timeout).
        rows = await _walked_page(conn, query, walk_window(query, matches, listed))
        if rows is None:
            cur = await conn.execute(query.walk_sql, {**query.params, "window": _UNBOUNDED})
            rows = await cur.fetchall()
        rows = rows[: filters.limit]
    else:
        rows = [r for r in counted if r["id"] is not None]
    total = min(matches, COUNT_CAP)
    return GigResults(
        items=[Gig.model_validate(r) for r in rows],
        total=total,
        has_more=offset + filters.limit < total,
        total_exact=matches <= COUNT_CAP,
    )
