"""getGigs stays index-driven at scale: every query shape the listing can produce (search, each filter,
each sort, the count, and both ways of fetching a page) is planned without a sequential scan of gigs,
on 200k generated gigs, acting as anon, as a signed-in user through the API role, and as PostgREST's
authenticated role. Filter values that match nothing (a made-up skill, tool or word) are answered from
the GIN bitmaps, never by walking the newest-first index looking for matches that do not exist.

The statements are exactly those of shared.services.gigs.build_gig_search (the service's builder)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from shared.db import Conn
from shared.models.gigs import GigFilters
from shared.services.gigs import COUNT_CAP, build_gig_search, count_statement
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


async def _plan(conn: Conn, statement: str, params: dict[str, Any]) -> dict[str, Any]:
    cur = await conn.execute("explain (format json) " + statement, params)
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


@pytest.mark.parametrize("as_who", ["anon", "api_user", "authenticated"])
@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
async def test_no_sequential_scan_of_gigs(big: tuple[Conn, list[TestUser]], shape: str, as_who: str) -> None:
    conn, users = big
    query = build_gig_search(GigFilters.model_validate(SHAPES[shape]))
    who: TestUser | str = "anon" if as_who == "anon" else users[0]
    async with acting_as(conn, who, as_api_user=as_who == "api_user") as c:
        chosen_count = await count_statement(c, query)  # count and page off the GIN bitmap, unless that scans
        for statement in (query.items_sql, query.matched_items_sql, query.count_sql, chosen_count):
            plan = await _plan(c, statement, query.params)
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
    query = build_gig_search(GigFilters(search="chatbot", sort="relevance"))
    async with acting_as(conn, "anon") as c:
        cur = await c.execute(query.count_sql, query.params)
        count_row = await cur.fetchone()
        cur = await c.execute(query.items_sql, query.params)
        items = await cur.fetchall()
    assert count_row is not None and count_row["total"] > 0 and len(items) == min(20, count_row["total"])
    assert all("chatbot" in item["title"].lower() for item in items)


NO_MATCH = [
    "no such skill",
    "no such tool",
    "no such word",
    "no such word budget sort",
    "no such tool and frequent filters",
]


async def _analyze(conn: Conn, statement: str, params: dict[str, Any]) -> dict[str, Any]:
    cur = await conn.execute("explain (analyze, format json) " + statement, params)
    row = await cur.fetchone()
    assert row is not None
    document = next(iter(row.values()))
    plan: dict[str, Any] = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    return plan


@pytest.mark.parametrize("shape", NO_MATCH, ids=NO_MATCH)
async def test_values_that_match_nothing_are_answered_from_the_gin_bitmaps(
    big: tuple[Conn, list[TestUser]], shape: str
) -> None:
    """The DoS shape: GET /gigs?ai_tools=<made up> used to walk every active gig (5.7 s at 1M gigs). The
    count (the only statement the service runs when nothing matches) reads a GIN bitmap, and so does the
    page statement the service would pick for few matches."""
    conn, _ = big
    query = build_gig_search(GigFilters.model_validate(SHAPES[shape]))
    async with acting_as(conn, "anon") as c:
        count_sql = await count_statement(c, query)
        for statement in (query.count_sql, count_sql, query.matched_items_sql):
            plan = await _analyze(c, statement, query.params)
            nodes = list(_nodes(plan))
            gin = [n for n in nodes if n["Node Type"] == "Bitmap Index Scan" and "Index Name" in n]
            assert any(
                n["Index Name"] in ("gigs_active_search_idx", "gigs_active_skills_idx", "gigs_active_ai_tools_idx")
                for n in gin
            ), (shape, statement, [(n["Node Type"], n.get("Index Name")) for n in nodes])
            assert not [n for n in nodes if n.get("Index Name") == "gigs_active_newest_idx"], (shape, statement)
            examined = sum(int(n.get("Actual Rows", 0)) + int(n.get("Rows Removed by Filter", 0)) for n in nodes)
            assert examined < 100, (shape, statement, examined)
        cur = await c.execute(count_sql, query.params)
        row = await cur.fetchone()
        assert row is not None and row["total"] == 0


async def test_a_frequent_word_is_counted_to_the_cap_and_paged_by_walking_the_newest_index(
    big: tuple[Conn, list[TestUser]],
) -> None:
    conn, _ = big
    query = build_gig_search(GigFilters(search="dashboard"))
    async with acting_as(conn, "anon") as c:
        for count_sql in (query.count_sql, await count_statement(c, query)):
            cur = await c.execute(count_sql, query.params)
            row = await cur.fetchone()
            assert row is not None and row["total"] == COUNT_CAP + 1
        plan = await _analyze(c, query.items_sql, query.params)
        nodes = list(_nodes(plan))
        walked = [n for n in nodes if n.get("Index Name") == "gigs_active_newest_idx"]
        assert walked, [(n["Node Type"], n.get("Index Name")) for n in nodes]
        # 20 matches of a frequent word are found within a few hundred of the newest gigs.
        assert sum(int(n.get("Rows Removed by Filter", 0)) for n in walked) < 2_000


async def test_both_ways_of_fetching_a_page_agree(big: tuple[Conn, list[TestUser]]) -> None:
    """The service picks counted_page_sql or matched_items_sql (collect the matches, then sort) for at
    most COUNT_CAP matches and items_sql (walk the sort order) above: all give the same page."""
    conn, _ = big
    for filters in (
        {"search": "sommelier"},
        {"search": "sommelier", "sort": "budget", "page": 2, "limit": 5},
        {"search": "kubernetes", "sort": "relevance"},
        {"search": "chatbot", "page": 2},
        {"skills": ["python"], "search": "chatbot"},
        {"organization_id": ORGS[1], "ai_tools": ["claude"]},
    ):
        query = build_gig_search(GigFilters.model_validate(filters))
        async with acting_as(conn, "anon") as c:
            cur = await c.execute(query.count_sql, query.params)
            row = await cur.fetchone()
            assert row is not None and 0 < row["total"] <= COUNT_CAP, filters
            cur = await c.execute(query.items_sql, query.params)
            walked = [r["id"] for r in await cur.fetchall()]
            cur = await c.execute(query.matched_items_sql, query.params)
            collected = [r["id"] for r in await cur.fetchall()]
            with_count: list[Any] = []
            if query.counted_page_sql is not None:
                cur = await c.execute(query.counted_page_sql, query.params)
                counted = await cur.fetchall()
                assert counted[0]["total"] == row["total"], filters
                with_count = [r["id"] for r in counted if r["id"] is not None]
        assert walked and walked == collected, filters
        assert with_count in ([], walked), filters
