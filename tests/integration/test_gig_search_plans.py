"""getGigs stays index-driven at scale: every query shape the listing can produce (search, each filter,
each sort, both ways of fetching a page) is planned without a sequential scan of gigs, on 200k
generated gigs, acting as anon, as a signed-in user through the API role, and as PostgREST's
authenticated role. Filter values that match nothing (a made-up skill, tool or word) are answered from
the filter document's GIN index, never by walking the newest-first index looking for matches that do
not exist; a frequent value is paged by a short walk and totalled by the planner's estimate.

The statements are exactly those of shared.services.gig_search.build_gig_search (the service's builder),
and the service itself is run against them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from shared.db import Conn
from shared.models.gigs import GigFilters
from shared.services.gig_search import (
    COUNT_CAP,
    ESTIMATE_ABOVE,
    build_gig_search,
    estimate_matches,
    search_gigs,
    walk_window,
)
from tests.conftest import connect
from tests.factories.users import TestUser, acting_as, create_user

GIG_COUNT = 200_000
ORGS = ["00000000-0000-4000-8000-00000000000" + str(i) for i in range(1, 6)]

# Ordinary words for titles and descriptions, a few rare ones the searches look for.
WORDS = (  # noqa: SIM905
    "build create design write develop improve launch review automate integrate analyze optimize migrate test "
    "website app dashboard report api service pipeline workflow model dataset article newsletter video podcast "
    "landing page store checkout support ticket email campaign brand logo illustration interface prototype "
    "backend frontend database cloud server script bot assistant agent prompt content copy research summary "
    "translation spreadsheet invoice schedule calendar marketing growth social media audience customer team"
).split()
RARE = ["chatbot", "kubernetes", "podcasting", "sommelier"]
SKILLS = [f"skill{i}" for i in range(40)] + ["python", "react", "seo"]
TOOLS = [f"tool{i}" for i in range(15)] + ["chatgpt", "claude", "midjourney"]
CATEGORIES = [
    "ai-development", "machine-learning", "prompt-engineering", "web-development", "mobile-development",
    "data-analysis", "content-writing", "design", "video-audio", "marketing", "automation", "customer-support",
    "translation", "other",
]  # fmt: skip


_INSERT = """
with params as (
  select %(posters)s::uuid[] as posters, %(words)s::text[] as words, %(rare)s::text[] as rare,
         %(skills)s::text[] as skills, %(tools)s::text[] as tools, %(cats)s::text[] as cats, %(orgs)s::uuid[] as orgs
), rows as (
  select i, abs(hashint4(i)) as h1, abs(hashint4(i + 7919)) as h2, abs(hashint4(i + 104729)) as h3
  from generate_series(%(first)s, %(last)s) as i
)
insert into public.gigs (poster_id, organization_id, title, description, category, skills_required,
  ai_tools_preferred, budget_type, budget_min, budget_max, location_type, status, published_at, created_at, updated_at)
select
  p.posters[1 + r.h1 %% cardinality(p.posters)],
  case when r.h2 %% 20 = 0 then p.orgs[1 + r.h3 %% cardinality(p.orgs)] end,
  initcap(p.words[1 + r.h1 %% cardinality(p.words)]) || ' ' || p.words[1 + r.h2 %% cardinality(p.words)]
    || ' ' || p.words[1 + r.h3 %% cardinality(p.words)]
    || case when r.h1 %% 500 = 0 then ' ' || p.rare[1 + r.h2 %% cardinality(p.rare)] else '' end,
  'We need help to ' || p.words[1 + (r.h1 / 7) %% cardinality(p.words)] || ' a '
    || p.words[1 + (r.h2 / 7) %% cardinality(p.words)] || ' and '
    || p.words[1 + (r.h3 / 7) %% cardinality(p.words)] || ' the '
    || p.words[1 + (r.h1 / 11) %% cardinality(p.words)] || ' for our '
    || p.words[1 + (r.h2 / 11) %% cardinality(p.words)] || ' '
    || p.words[1 + (r.h3 / 11) %% cardinality(p.words)] || ' with AI tools, quickly and well.',
  p.cats[1 + r.h2 %% cardinality(p.cats)],
  array[p.skills[1 + r.h1 %% cardinality(p.skills)], p.skills[1 + r.h3 %% cardinality(p.skills)]],
  array[p.tools[1 + r.h2 %% cardinality(p.tools)]],
  case when r.h3 %% 3 = 0 then 'hourly' else 'fixed' end,
  case when r.h1 %% 10 = 0 then null else (r.h2 %% 5000)::numeric end,
  case when r.h1 %% 10 = 1 then null else (r.h2 %% 5000 + r.h3 %% 3000)::numeric end,
  (array['remote', 'onsite', 'hybrid'])[1 + r.h3 %% 3],
  (array['active', 'active', 'active', 'active', 'active', 'active', 'draft', 'paused', 'closed', 'filled'])
    [1 + r.h1 %% 10],
  case when r.h1 %% 10 <> 6 then now() - make_interval(secs => r.h2 %% (90 * 86400)) end,
  now() - make_interval(secs => r.h2 %% (90 * 86400)),
  now()
from rows r cross join params p
"""

LOADERS = 2  # parallel connections for the load and the index builds


async def _on_own_connection(url: str, statements: list[tuple[str, dict[str, Any]]]) -> None:
    conn = await connect(url)
    try:
        async with conn.transaction():
            # Around the triggers (replica mode): constraints and the generated search vector still apply.
            await conn.execute("set local session_replication_role = replica")
            await conn.execute("set local maintenance_work_mem = '128MB'")
            for statement, params in statements:
                await conn.execute(statement, params)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def big(module_db_url: str) -> AsyncIterator[tuple[Conn, list[TestUser]]]:
    conn = await connect(module_db_url)
    users: list[TestUser] = []
    for _ in range(20):
        async with conn.transaction():
            users.append(await create_user(conn))
    # A bulk load with the migration's own secondary indexes dropped, then rebuilt from their
    # definitions (faster than maintaining three GIN indexes row by row), then VACUUM ANALYZE.
    cur = await conn.execute(
        "select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as ddl from pg_index i"
        " where i.indrelid = 'public.gigs'::regclass and not i.indisprimary and not i.indisunique"
    )
    indexes = await cur.fetchall()
    async with conn.transaction():
        for index in indexes:
            await conn.execute(f"drop index {index['name']}")
    params: dict[str, Any] = {
        "posters": [u.id for u in users],
        "words": WORDS,
        "rare": RARE,
        "skills": SKILLS,
        "tools": TOOLS,
        "cats": CATEGORIES,
        "orgs": ORGS,
    }
    share = GIG_COUNT // LOADERS
    await asyncio.gather(
        *(
            _on_own_connection(module_db_url, [(_INSERT, {**params, "first": k * share + 1, "last": (k + 1) * share})])
            for k in range(LOADERS)
        )
    )
    await asyncio.gather(
        *(
            _on_own_connection(module_db_url, [(index["ddl"], {}) for index in indexes[k::LOADERS]])
            for k in range(LOADERS)
        )
    )
    await conn.execute("vacuum (analyze) public.gigs")
    await conn.execute("analyze public.profiles")
    yield conn, users
    await conn.close()


SHAPES: dict[str, dict[str, Any]] = {
    "newest": {},
    "sort budget": {"sort": "budget"},
    "sort relevance without search": {"sort": "relevance"},
    "search (newest)": {"search": "chatbot"},
    "search relevance": {"search": "chatbot", "sort": "relevance"},
    "search budget": {"search": "kubernetes", "sort": "budget"},
    "search websearch syntax": {"search": '"landing page" -store', "sort": "relevance"},
    "search common word": {"search": "dashboard", "sort": "relevance"},
    "category": {"category": "design"},
    "category budget": {"category": "design", "sort": "budget"},
    "skills overlap": {"skills": ["python", "seo"]},
    "ai tools overlap": {"ai_tools": ["midjourney"]},
    "budget min": {"budget_min": 4500},
    "budget max": {"budget_max": 100},
    "budget range": {"budget_min": 1000, "budget_max": 1200},
    "location type": {"location_type": "hybrid"},
    "posted within day": {"posted_within": "day"},
    "posted within week": {"posted_within": "week"},
    "posted within month": {"posted_within": "month"},
    "organization": {"organization_id": ORGS[0]},
    "deep page": {"page": 400, "limit": 25},
    "frequent word": {"search": "dashboard"},
    "frequent word relevance page 3": {"search": "build", "sort": "relevance", "page": 3},
    "no such skill": {"skills": ["nosuchskill"]},
    "no such tool": {"ai_tools": ["madeuptool"]},
    "no such word": {"search": "xyzzyplugh"},
    "no such word budget sort": {"search": "xyzzyplugh", "sort": "budget"},
    "no such tool and frequent filters": {"ai_tools": ["madeuptool"], "category": "design", "budget_min": 10},
    "rare word with a skill": {"search": "sommelier", "skills": ["python"]},
    "everything": {
        "search": "build",
        "category": "ai-development",
        "skills": ["python"],
        "ai_tools": ["claude"],
        "budget_min": 100,
        "budget_max": 4000,
        "location_type": "remote",
        "posted_within": "month",
        "sort": "relevance",
    },
}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _plan(conn: Conn, statement: str, params: dict[str, Any], *, analyze: bool = False) -> dict[str, Any]:
    cur = await conn.execute(f"explain ({'analyze, ' if analyze else ''}format json) " + statement, params)
    row = await cur.fetchone()
    assert row is not None
    document = next(iter(row.values()))
    plan: dict[str, Any] = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    return plan


def _gig_scans(plan: dict[str, Any]) -> list[str]:
    return [
        f"{n['Node Type']}:{n.get('Index Name', '-')}"
        for n in _nodes(plan)
        if n.get("Relation Name") == "gigs" or str(n.get("Index Name", "")).startswith("gigs_")
    ]


async def _count(conn: Conn, condition: str, params: dict[str, Any]) -> int:
    cur = await conn.execute(f"select count(*) as n from private.listed_gigs g where {condition}", params)
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


@pytest.mark.parametrize("as_who", ["anon", "api_user", "authenticated"])
@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
async def test_no_sequential_scan_of_gigs(big: tuple[Conn, list[TestUser]], shape: str, as_who: str) -> None:
    """The statement the service picks for the shape (from the same estimate) never reads gigs
    sequentially; nor does the walk the collection falls back to when it finds over COUNT_CAP matches."""
    conn, users = big
    query = build_gig_search(GigFilters.model_validate(SHAPES[shape]))
    who: TestUser | str = "anon" if as_who == "anon" else users[0]
    async with acting_as(conn, who, as_api_user=as_who == "api_user") as c:
        await c.execute("set local max_parallel_workers_per_gather = 0")
        matching, listed = await estimate_matches(c, query)
        picked = query.walk_sql if matching >= ESTIMATE_ABOVE else query.counted_sql
        fallback = walk_window(query, COUNT_CAP + 1, listed)
        for statement, window in ((picked, walk_window(query, matching, listed)), (query.walk_sql, fallback)):
            plan = await _plan(c, statement, {**query.params, "window": window})
            scans = _gig_scans(plan)
            assert scans, f"{shape}: gigs not read at all?"
            assert not [s for s in scans if s.startswith("Seq Scan")], (shape, statement, scans)


async def test_the_data_set_is_big_enough_for_the_planner_to_care(big: tuple[Conn, list[TestUser]]) -> None:
    conn, _ = big
    cur = await conn.execute(
        "select reltuples::bigint as n, relpages as pages from pg_class where oid = 'public.gigs'::regclass"
    )
    row = await cur.fetchone()
    assert row is not None and row["n"] >= GIG_COUNT * 0.9 and row["pages"] > 1000
    # And the listing really finds rows through those plans.
    async with acting_as(conn, "anon") as c:
        found = await search_gigs(c, GigFilters(search="chatbot", sort="relevance"))
    assert found.total > 0 and len(found.items) == min(20, found.total)
    assert all("chatbot" in item.title.lower() for item in found.items)


NO_MATCH = [
    "no such skill",
    "no such tool",
    "no such word",
    "no such word budget sort",
    "no such tool and frequent filters",
]


@pytest.mark.parametrize("shape", NO_MATCH, ids=NO_MATCH)
async def test_values_that_match_nothing_are_answered_from_the_filter_index(
    big: tuple[Conn, list[TestUser]], shape: str
) -> None:
    """The DoS shape: GET /gigs?ai_tools=<made up> used to walk every active gig (5.7 s at 1M gigs). The
    estimate is small, so the service counts off the filter document's GIN bitmap: a handful of rows
    examined, never the newest-first index, and the answer is an exact 0."""
    conn, _ = big
    query = build_gig_search(GigFilters.model_validate(SHAPES[shape]))
    async with acting_as(conn, "anon") as c:
        matching, _ = await estimate_matches(c, query)
        assert matching < ESTIMATE_ABOVE, (shape, matching)
        plan = await _plan(c, query.counted_sql, query.params, analyze=True)
        nodes = list(_nodes(plan))
        assert any(n.get("Index Name") == "gigs_active_filter_idx" for n in nodes), (shape, _gig_scans(plan))
        assert not [n for n in nodes if n.get("Index Name") == "gigs_active_newest_idx"], shape
        examined = sum(int(n.get("Actual Rows", 0)) + int(n.get("Rows Removed by Filter", 0)) for n in nodes)
        assert examined < 100, (shape, examined)
        found = await search_gigs(c, GigFilters.model_validate(SHAPES[shape]))
    assert (found.items, found.total, found.total_exact, found.has_more) == ([], 0, True, False)


async def test_a_frequent_word_is_paged_by_a_short_walk_and_totalled_by_the_estimate(
    big: tuple[Conn, list[TestUser]],
) -> None:
    conn, _ = big
    filters = GigFilters(search="dashboard")
    query = build_gig_search(filters)
    async with acting_as(conn, "anon") as c:
        actual = await _count(c, "g.search_vector @@ websearch_to_tsquery('english', 'dashboard')", {})
        assert actual > COUNT_CAP  # frequent enough that counting it exactly would read >10k heap pages
        matching, listed = await estimate_matches(c, query)
        params = {**query.params, "window": walk_window(query, matching, listed)}
        plan = await _plan(c, query.walk_sql, params, analyze=True)
        walked = [n for n in _nodes(plan) if n.get("Index Name") == "gigs_active_newest_idx"]
        assert walked, _gig_scans(plan)
        # 21 matches of a frequent word are found within a few hundred of the newest gigs.
        assert sum(int(n.get("Actual Rows", 0)) for n in walked) < 2_000
        found = await search_gigs(c, filters)
    assert not found.total_exact and found.has_more and len(found.items) == 20
    assert abs(found.total - actual) < actual * 0.2, (found.total, actual)  # an estimate, rounded, but close
    assert all("dashboard" in (g.title + g.description).lower() for g in found.items)


# Shapes whose answers are small enough to count exactly (on the generated set), by either way.
AGREEING = (
    {"search": "sommelier"},
    {"search": "sommelier", "sort": "budget", "page": 2, "limit": 5},
    {"search": "kubernetes", "sort": "relevance"},
    {"search": "chatbot", "page": 2},
    {"skills": ["python"], "search": "chatbot"},
    {"organization_id": ORGS[1], "ai_tools": ["claude"]},
    {"category": "design", "skills": ["skill3", "skill4"], "location_type": "onsite", "budget_min": 2000},
    {"ai_tools": ["tool2"], "category": "translation", "posted_within": "week", "sort": "budget"},
)


@pytest.mark.parametrize("filters", AGREEING, ids=[json.dumps(f) for f in AGREEING])
async def test_both_ways_of_fetching_a_page_agree(big: tuple[Conn, list[TestUser]], filters: dict[str, Any]) -> None:
    """The walk (filters on the columns) and the collection (filters as one query over the filter
    document) find the same matches in the same order, and the count is the true one."""
    conn, _ = big
    model = GigFilters.model_validate(filters)
    query = build_gig_search(model)
    async with acting_as(conn, "anon") as c:
        cur = await c.execute(query.counted_sql, query.params)
        counted = await cur.fetchall()
        cur = await c.execute(query.walk_sql, {**query.params, "window": 2**62})
        walked = [r["id"] for r in await cur.fetchall()][: model.limit]
        found = await search_gigs(c, model)
        # The truth, straight from the columns with no index-friendly rewriting.
        where = [
            "g.category = %(category)s" if model.category else "true",
            "g.location_type = %(location)s" if model.location_type else "true",
            "g.skills_required && %(skill)s::text[]" if model.skills else "true",
            "g.ai_tools_preferred && %(tool)s::text[]" if model.ai_tools else "true",
            "g.search_vector @@ websearch_to_tsquery('english', %(search)s)" if model.search else "true",
            "g.organization_id = %(organization_id)s" if model.organization_id else "true",
            "coalesce(g.budget_max, g.budget_min) >= %(budget_min)s" if model.budget_min else "true",
            "g.published_at >= now() - %(within)s::interval" if model.posted_within else "true",
        ]
        actual = await _count(c, " and ".join(where), query.params)
    assert 0 < actual <= COUNT_CAP, filters
    assert counted[0]["total"] == actual, filters
    with_count = [r["id"] for r in counted if r["id"] is not None]
    assert walked and walked == with_count, filters
    assert [g.id for g in found.items] == walked and found.total == actual and found.total_exact, filters
