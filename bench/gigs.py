"""(1) getGigs at scale through the service's own SQL builder (shared.services.gig_search.search_gigs):
p50/p95 over a fixed mix of realistic queries, and the cost of RLS: the same calls as anon and as a
signed-in user (api_user with claims) against the table owner (superuser: RLS bypassed)."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.common import Interleaved, log, ratio, summary
from bench.generate import uid
from bench.session import typical_user
from shared.models.gigs import GigFilters
from shared.services.gig_search import search_gigs

# What people type and click: free text, a category, skill chips, budgets, recency, sorts, page 2+.
QUERY_MIX: list[dict[str, Any]] = [
    {},
    {"page": 3},
    {"search": "chatbot"},
    {"search": "python dashboard", "sort": "relevance"},
    {"search": "react website", "category": "web-development"},
    {"category": "ai-development"},
    {"category": "translation"},
    {"skills": "python,react"},
    {"skills": "rust", "budget_min": 100},
    {"ai_tools": "claude"},
    {"budget_min": 500, "budget_max": 2000},
    {"location_type": "onsite", "posted_within": "week"},
    {"posted_within": "day"},
    {"sort": "budget"},
    {"search": "agent", "category": "ai-development", "sort": "budget"},
    {"search": "automation workflow", "skills": "zapier", "sort": "relevance"},
]

_CONTEXT = "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)"


async def run(url: str, rounds: int) -> dict[str, Any]:
    filters = [GigFilters.model_validate(q) for q in QUERY_MIX]
    user_claims = json.dumps({"sub": uid(typical_user()), "role": "authenticated", "aud": "authenticated"})
    # A heavy poster (user 2 manages ~0.6% of all gigs): the gigs policy's managed_gig_ids() grows with it.
    poster_claims = json.dumps({"sub": uid(2), "role": "authenticated", "aud": "authenticated"})
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row, prepare_threshold=None)
    totals: dict[str, int] = {}

    def variant(role: str | None, claims: str, f: GigFilters, key: str) -> Any:
        async def call() -> None:
            async with conn.transaction():
                if role is not None:
                    await conn.execute(_CONTEXT, (role, claims))
                found = await search_gigs(conn, f)
                totals[key] = found.total

        return call

    per_query: dict[str, dict[str, list[float]]] = {}
    all_samples: dict[str, list[float]] = {"owner": [], "anon": [], "user": [], "heavy_poster": []}
    # One Interleaved per query: the three roles take turns on the same query, round after round.
    for i, f in enumerate(filters):
        key = json.dumps(QUERY_MIX[i], sort_keys=True)
        bench = Interleaved(
            {
                "owner": variant(None, "", f, key),
                "anon": variant("anon", json.dumps({"role": "anon"}), f, key),
                "user": variant("api_user", user_claims, f, key),
                "heavy_poster": variant("api_user", poster_claims, f, key),
            }
        )
        samples = await bench.run(rounds, warmup=3)
        per_query[key] = samples
        for name, values in samples.items():
            all_samples[name].extend(values)
        log(f"  getGigs {key}: anon p50 {summary(samples['anon'])['p50_ms']} ms, total {totals[key]}")
    await conn.close()
    stats = {name: summary(values) for name, values in all_samples.items()}
    slowest = sorted(
        ((k, summary(v["anon"])["p95_ms"]) for k, v in per_query.items()), key=lambda kv: kv[1], reverse=True
    )[:3]
    return {
        "queries": len(filters),
        "rounds_per_query": rounds,
        "owner_rls_bypassed": stats["owner"],
        "anon": stats["anon"],
        "user": stats["user"],
        "heavy_poster": stats["heavy_poster"],
        "rls_ratio_anon_p50": ratio(stats["anon"]["p50_ms"], stats["owner"]["p50_ms"]),
        "rls_ratio_user_p50": ratio(stats["user"]["p50_ms"], stats["owner"]["p50_ms"]),
        "rls_ratio_anon_mean": ratio(stats["anon"]["mean_ms"], stats["owner"]["mean_ms"]),
        "rls_ratio_user_mean": ratio(stats["user"]["mean_ms"], stats["owner"]["mean_ms"]),
        "rls_ratio_heavy_poster_p50": ratio(stats["heavy_poster"]["p50_ms"], stats["owner"]["p50_ms"]),
        "slowest_queries_anon_p95_ms": dict(slowest),
        "targets": {"p95_ms": 15, "rls_ratio": 1.2},
    }
