"""Gigs over HTTP: posting, visibility, edits and status rules, search and filters, bookmarks, views."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx

from shared.db import Conn
from tests.factories.accounts import create_org
from tests.factories.marketplace import create_application, create_gig
from tests.factories.users import TestUser, as_owner, create_user

API = "/api/v1"

GIG = {
    "title": "Build a RAG chatbot for our docs",
    "description": "Index our product documentation and answer customer questions with citations.",
    "category": "ai-development",
    "skills_required": ["Python", "LangChain", "python"],
    "ai_tools_preferred": ["ChatGPT"],
    "budget_type": "fixed",
    "budget_min": 1000,
    "budget_max": 3000,
    "location_type": "remote",
}


def ok_data(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is True
    return body["data"]


def error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    err: dict[str, Any] = body["error"]
    return err


async def post_gig(client: httpx.AsyncClient, user: TestUser, **changes: Any) -> dict[str, Any]:
    gig: dict[str, Any] = ok_data(await client.post(f"{API}/gigs", json={**GIG, **changes}, headers=user.headers), 201)
    return gig


async def test_post_gig_returns_it_live_with_its_poster(client: httpx.AsyncClient, user: TestUser) -> None:
    gig = await post_gig(client, user)
    assert gig["status"] == "active" and gig["published_at"] is not None
    assert gig["poster_id"] == str(user.id) and gig["poster"]["username"] == user.username
    assert gig["skills_required"] == ["python", "langchain"]  # one spelling per tag
    assert gig["applications_count"] == 0 and gig["views_count"] == 0


async def test_post_gig_needs_a_token(client: httpx.AsyncClient) -> None:
    error(await client.post(f"{API}/gigs", json=GIG), 401, "UNAUTHORIZED")
    error(await client.post(f"{API}/gigs", json=GIG, headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED")


async def test_post_gig_bad_input_names_the_fields_and_creates_nothing(
    client: httpx.AsyncClient, conn: Conn, user: TestUser
) -> None:
    bad = {**GIG, "title": "Hi", "budget_min": 500, "budget_max": 100, "location_type": "moon", "extra": 1}
    del bad["description"]
    err = error(await client.post(f"{API}/gigs", json=bad, headers=user.headers), 400, "VALIDATION_ERROR")
    assert {"title", "description", "budget_max", "location_type", "extra"} <= set(err["fields"])
    err = error(
        await client.post(f"{API}/gigs", json={**GIG, "category": "underwater-basket"}, headers=user.headers),
        400,
        "VALIDATION_ERROR",
    )
    assert err["fields"] == {"category": ["Unknown category"]}
    err = error(
        await client.post(f"{API}/gigs", json={**GIG, "status": "filled"}, headers=user.headers),
        400,
        "VALIDATION_ERROR",
    )
    assert "status" in err["fields"]
    await as_owner(conn)
    cur = await conn.execute("select count(*) as n from public.gigs where poster_id = %s", (user.id,))
    assert (await cur.fetchone()) == {"n": 0}


async def test_organization_gigs_are_refused_until_the_caller_belongs_to_it(
    client: httpx.AsyncClient, user: TestUser
) -> None:
    resp = await client.post(f"{API}/gigs", json={**GIG, "organization_id": str(uuid4())}, headers=user.headers)
    error(resp, 403, "FORBIDDEN")


async def test_drafts_and_paused_gigs_are_only_their_posters(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    draft = await create_gig(conn, user, status="draft")
    paused = await create_gig(conn, user, status="paused")
    closed = await create_gig(conn, user, status="closed")
    for gig_id in (draft, paused):
        error(await client.get(f"{API}/gigs/{gig_id}"), 404, "NOT_FOUND")
        error(await client.get(f"{API}/gigs/{gig_id}", headers=other_user.headers), 404, "NOT_FOUND")
        assert ok_data(await client.get(f"{API}/gigs/{gig_id}", headers=user.headers))["id"] == str(gig_id)
    # Closed gigs stay readable (history, reviews) but are not listed.
    assert ok_data(await client.get(f"{API}/gigs/{closed}"))["status"] == "closed"
    listed = ok_data(await client.get(f"{API}/gigs"))
    assert listed["items"] == [] and listed["total"] == 0
    mine = ok_data(await client.get(f"{API}/me/gigs", headers=user.headers))
    assert {g["id"] for g in mine["items"]} == {str(draft), str(paused), str(closed)} and mine["total"] == 3
    only_drafts = ok_data(await client.get(f"{API}/me/gigs?status=draft", headers=user.headers))
    assert [g["id"] for g in only_drafts["items"]] == [str(draft)]
    assert ok_data(await client.get(f"{API}/me/gigs", headers=other_user.headers))["total"] == 0


async def test_only_the_poster_edits_and_other_callers_get_403_or_404(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    gig = await post_gig(client, user)
    draft = await create_gig(conn, user, status="draft")
    url = f"{API}/gigs/{gig['id']}"
    error(await client.patch(url, json={"title": "Something else entirely"}), 401, "UNAUTHORIZED")
    error(
        await client.patch(url, json={"title": "Something else entirely"}, headers=other_user.headers), 403, "FORBIDDEN"
    )
    error(
        await client.patch(f"{API}/gigs/{draft}", json={"title": "Sneaky edit"}, headers=other_user.headers),
        404,
        "NOT_FOUND",
    )
    error(
        await client.patch(f"{API}/gigs/{uuid4()}", json={"title": "Nothing here"}, headers=user.headers),
        404,
        "NOT_FOUND",
    )
    error(await client.delete(url, headers=other_user.headers), 403, "FORBIDDEN")
    error(await client.put(f"{url}/status", json={"status": "closed"}, headers=other_user.headers), 403, "FORBIDDEN")

    err = error(await client.patch(url, json={"budget_max": 10}, headers=user.headers), 400, "VALIDATION_ERROR")
    assert list(err["fields"]) == ["budget_max"]  # below the stored budget_min: the database says so
    err = error(
        await client.patch(url, json={"title": None, "status": "closed"}, headers=user.headers), 400, "VALIDATION_ERROR"
    )
    assert set(err["fields"]) == {"title", "status"}
    error(await client.get(f"{API}/gigs/not-a-uuid"), 400, "VALIDATION_ERROR")

    updated = ok_data(
        await client.patch(
            url, json={"title": "Build a RAG chatbot, v2", "skills_required": ["Rust"]}, headers=user.headers
        )
    )
    assert updated["title"] == "Build a RAG chatbot, v2" and updated["skills_required"] == ["rust"]
    assert updated["description"] == GIG["description"]


async def test_status_moves_only_along_legal_transitions(client: httpx.AsyncClient, user: TestUser) -> None:
    gig = await post_gig(client, user, status="draft")
    assert gig["published_at"] is None
    url = f"{API}/gigs/{gig['id']}/status"
    live = ok_data(await client.put(url, json={"status": "active"}, headers=user.headers))
    assert live["published_at"] is not None
    for target in ("paused", "active", "closed", "active", "filled"):
        moved = ok_data(await client.put(url, json={"status": target}, headers=user.headers))
        assert moved["status"] == target and moved["published_at"] == live["published_at"]
    err = error(await client.put(url, json={"status": "active"}, headers=user.headers), 409, "CONFLICT")
    assert "filled" in err["message"]
    error(await client.put(url, json={"status": "draft"}, headers=user.headers), 409, "CONFLICT")
    error(await client.put(url, json={"status": "archived"}, headers=user.headers), 400, "VALIDATION_ERROR")


async def test_delete_removes_the_gig_with_its_applications(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    gig_id = await create_gig(conn, user)
    await create_application(conn, gig_id, other_user)
    ok_data(await client.delete(f"{API}/gigs/{gig_id}", headers=user.headers))
    error(await client.get(f"{API}/gigs/{gig_id}", headers=user.headers), 404, "NOT_FOUND")
    error(await client.delete(f"{API}/gigs/{gig_id}", headers=user.headers), 404, "NOT_FOUND")
    await as_owner(conn)
    cur = await conn.execute("select count(*) as n from public.applications where gig_id = %s", (gig_id,))
    assert (await cur.fetchone()) == {"n": 0}


async def _ids(client: httpx.AsyncClient, query: str) -> list[str]:
    page = ok_data(await client.get(f"{API}/gigs?{query}"))
    return [g["id"] for g in page["items"]]


async def test_search_filters_and_sorts(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    chatbot = await create_gig(
        conn,
        user,
        title="Customer support chatbot with GPT",
        skills_required=["python", "fastapi"],
        ai_tools_preferred=["chatgpt"],
        budget_min=2000,
        budget_max=5000,
        category="ai-development",
    )
    blog = await create_gig(
        conn,
        user,
        title="Weekly blog posts about gardening",
        description="Write four long articles a month about gardening, edited with AI tools for tone.",
        skills_required=["writing", "seo"],
        ai_tools_preferred=["claude"],
        budget_type="hourly",
        budget_min=20,
        budget_max=40,
        category="content-writing",
        location_type="hybrid",
    )
    logo = await create_gig(
        conn,
        user,
        title="Logo design for a chatbot startup",
        description="A friendly mascot logo for our chatbot company, vector files and a small style guide.",
        skills_required=["illustrator"],
        ai_tools_preferred=["midjourney"],
        budget_min=None,
        budget_max=300,
        category="design",
        location_type="onsite",
    )
    await create_gig(conn, user, title="Hidden draft chatbot", status="draft")
    await as_owner(conn)
    # Publication order: chatbot oldest, logo newest. published_at is the database's to set, so the
    # setup goes around the triggers (replica mode) to date the gigs.
    await conn.execute("select set_config('session_replication_role', 'replica', true)")
    await conn.execute(
        "update public.gigs set published_at = now() - make_interval(days => d)"
        " from (values (%s::uuid, 20), (%s::uuid, 3), (%s::uuid, 0)) v(id, d) where gigs.id = v.id",
        (chatbot, blog, logo),
    )
    await conn.execute("select set_config('session_replication_role', 'origin', true)")
    c, b, lg = str(chatbot), str(blog), str(logo)

    assert await _ids(client, "") == [lg, b, c]
    assert set(await _ids(client, "search=chatbot")) == {c, lg}
    assert await _ids(client, "search=chatbot -logo") == [c]
    assert await _ids(client, 'search="support chatbot"') == [c]
    assert await _ids(client, "search=fastapi") == [c]  # skills are searched too
    assert await _ids(client, "search=the") == []  # only stop words: nothing to match, not an error
    assert await _ids(client, "search=%21%21%20%28") == []
    relevance = await _ids(client, "search=gpt chatbot&sort=relevance")
    assert relevance == [c]
    assert await _ids(client, "category=design") == [lg]
    assert await _ids(client, "skills=seo,fastapi") == [b, c]
    assert await _ids(client, "skills=SEO") == [b]
    assert await _ids(client, "ai_tools=midjourney") == [lg]
    assert await _ids(client, "location_type=hybrid") == [b]
    assert await _ids(client, "budget_min=1000") == [c]
    assert await _ids(client, "budget_max=100") == [b]
    assert await _ids(client, "budget_min=250&budget_max=350") == [lg]
    assert await _ids(client, "posted_within=week") == [lg, b]
    assert await _ids(client, "posted_within=day") == [lg]
    assert await _ids(client, "sort=budget") == [c, lg, b]
    assert await _ids(client, f"organization_id={uuid4()}") == []

    page = ok_data(await client.get(f"{API}/gigs?limit=2"))
    assert page["total"] == 3 and page["hasMore"] is True and len(page["items"]) == 2
    page = ok_data(await client.get(f"{API}/gigs?limit=2&page=2"))
    assert page["hasMore"] is False and [g["id"] for g in page["items"]] == [c]
    assert page["items"][0]["poster"]["username"] == user.username


async def test_bad_listing_queries_are_400_with_fields(client: httpx.AsyncClient) -> None:
    for query, field in (
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("page=0", "page"),
        ("sort=random", "sort"),
        ("posted_within=year", "posted_within"),
        ("budget_min=-1", "budget_min"),
        ("budget_min=10&budget_max=5", "budget_max"),
        ("organization_id=xyz", "organization_id"),
        ("colour=blue", "colour"),
        ("page=600&limit=20", "page"),
    ):
        err = error(await client.get(f"{API}/gigs?{query}"), 400, "VALIDATION_ERROR")
        assert field in err["fields"], (query, err)


async def test_save_is_idempotent_and_private(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    gig_id = await create_gig(conn, user)
    draft = await create_gig(conn, user, status="draft")
    for _ in range(2):
        assert ok_data(await client.put(f"{API}/gigs/{gig_id}/save", headers=other_user.headers))["saved"] is True
    saved = ok_data(await client.get(f"{API}/me/saved-gigs", headers=other_user.headers))
    assert [g["id"] for g in saved["items"]] == [str(gig_id)] and saved["total"] == 1
    assert ok_data(await client.get(f"{API}/me/saved-gigs", headers=user.headers))["total"] == 0
    error(await client.put(f"{API}/gigs/{draft}/save", headers=other_user.headers), 404, "NOT_FOUND")
    error(await client.put(f"{API}/gigs/{gig_id}/save"), 401, "UNAUTHORIZED")
    for _ in range(2):
        assert ok_data(await client.delete(f"{API}/gigs/{gig_id}/save", headers=other_user.headers))["saved"] is False
    assert ok_data(await client.get(f"{API}/me/saved-gigs", headers=other_user.headers))["total"] == 0


async def test_views_count_each_other_viewer_once_a_day(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    gig_id = await create_gig(conn, user)
    third = await create_user(conn)
    for who in (user, other_user, other_user, third):
        ok_data(await client.get(f"{API}/gigs/{gig_id}", headers=who.headers))
    ok_data(await client.get(f"{API}/gigs/{gig_id}", headers={"user-agent": "reader"}))
    ok_data(await client.get(f"{API}/gigs/{gig_id}", headers={"user-agent": "reader"}))
    await as_owner(conn)
    cur = await conn.execute("select private.cleanup_fold_gig_views(1000) as n")
    assert (await cur.fetchone()) == {"n": 3}  # other_user, third, one anonymous reader; never the poster
    gig = ok_data(await client.get(f"{API}/gigs/{gig_id}", headers=user.headers))
    assert gig["views_count"] == 3
    await as_owner(conn)
    cur = await conn.execute("select private.cleanup_fold_gig_views(1000) as n")
    assert (await cur.fetchone()) == {"n": 0}  # folded once only


async def test_categories_are_the_marketplace_taxonomy(client: httpx.AsyncClient, user: TestUser) -> None:
    anon = ok_data(await client.get(f"{API}/categories"))
    slugs = [c["slug"] for c in anon]
    assert {"ai-development", "content-writing", "design"} <= set(slugs) and len(slugs) >= 12
    assert all(c["organization_id"] is None for c in anon)
    assert ok_data(await client.get(f"{API}/categories", headers=user.headers)) == anon


def _uuid(value: str) -> UUID:
    return UUID(value)


async def test_filter_values_nothing_has_answer_an_empty_page(
    client: httpx.AsyncClient, conn: Conn, user: TestUser
) -> None:
    # The listing's cheap path (the count finds no match, no page query): same answer as before.
    await create_gig(conn, user, title="Chatbot for a bakery", skills_required=["python"])
    for query in (
        "skills=nosuchskill",
        "ai_tools=madeuptool",
        "search=xyzzyplugh",
        "search=xyzzyplugh&sort=relevance",
        "ai_tools=madeuptool&sort=budget",
        "budget_min=9999999",
        "skills=python&page=2",
    ):
        page = ok_data(await client.get(f"{API}/gigs?{query}"))
        assert page["items"] == [] and page["hasMore"] is False, query
        assert page["total"] == (1 if query.startswith("skills=python") else 0), query


async def test_budget_filters_compare_exact_amounts(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    # Amounts are compared as numeric (cents exact), not as floats.
    gig = str(await create_gig(conn, user, budget_min=100.1, budget_max=200.3))
    assert await _ids(client, "budget_min=200.3") == [gig]
    assert await _ids(client, "budget_min=200.31") == []
    assert await _ids(client, "budget_max=100.1") == [gig]
    assert await _ids(client, "budget_max=100.09") == []


async def test_relevance_ranks_and_pages_consistently(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    strong = await create_gig(conn, user, title="Kubernetes kubernetes operator", description="Kubernetes " * 5)
    weak = await create_gig(conn, user, title="Website refresh project", description="Some kubernetes hosting later.")
    ids = await _ids(client, "search=kubernetes&sort=relevance")
    assert ids == [str(strong), str(weak)]
    first = ok_data(await client.get(f"{API}/gigs?search=kubernetes&sort=relevance&limit=1"))
    second = ok_data(await client.get(f"{API}/gigs?search=kubernetes&sort=relevance&limit=1&page=2"))
    assert first["total"] == second["total"] == 2 and first["hasMore"] is True and second["hasMore"] is False
    assert [g["id"] for g in first["items"] + second["items"]] == ids


async def test_organization_admins_views_are_not_counted(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    # private.can_manage_gig (now one primary-key read) still counts organization admins as managers.
    admin = await create_user(conn)
    member = await create_user(conn)
    org = await create_org(conn, admin, members=(user, member))
    gig_id = await create_gig(conn, user, organization_id=org.id)
    draft = await create_gig(conn, user, organization_id=org.id, status="draft")
    for who in (admin, user, member):
        ok_data(await client.get(f"{API}/gigs/{gig_id}", headers=who.headers))
    ok_data(await client.get(f"{API}/gigs/{draft}", headers=admin.headers))  # admins see the org's drafts
    error(await client.get(f"{API}/gigs/{draft}", headers=member.headers), 404, "NOT_FOUND")
    await as_owner(conn)
    cur = await conn.execute("select private.cleanup_fold_gig_views(1000) as n")
    assert (await cur.fetchone()) == {"n": 1}  # the plain member only
