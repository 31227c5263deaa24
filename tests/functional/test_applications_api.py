"""Applications over HTTP: the whole marketplace flow, status rules, bulk changes and every error path."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx

from shared.db import Conn
from tests.factories.marketplace import create_application, create_gig
from tests.factories.users import TestUser, acting_as, as_owner, create_user
from tests.functional.test_gigs_api import API, GIG, error, ok_data

COVER = "I have built three retrieval chatbots in production; happy to share references."


async def apply(client: httpx.AsyncClient, who: TestUser, gig_id: Any, **extra: Any) -> httpx.Response:
    return await client.post(
        f"{API}/applications", json={"gig_id": str(gig_id), "cover_letter": COVER, **extra}, headers=who.headers
    )


async def notifications_of(conn: Conn, user: TestUser) -> list[dict[str, Any]]:
    """What the user reads of their notifications, acting as them (RLS decides)."""
    async with acting_as(conn, user) as c:
        cur = await c.execute("select type, user_id, data from public.notifications order by created_at, id")
        return list(await cur.fetchall())


async def test_the_whole_flow(client: httpx.AsyncClient, conn: Conn) -> None:
    poster = await create_user(conn, full_name="Paula Poster")
    freelancer = await create_user(conn, full_name="Fred Freelancer")
    h_poster, h_free = poster.headers, freelancer.headers

    # The poster posts a gig.
    gig = ok_data(await client.post(f"{API}/gigs", json=GIG, headers=h_poster), 201)
    gig_id = gig["id"]

    # The freelancer finds it by search and by filters, anonymously and signed in.
    found = ok_data(await client.get(f"{API}/gigs?search=chatbot docs&skills=langchain&budget_min=2500"))
    assert [g["id"] for g in found["items"]] == [gig_id]
    found = ok_data(
        await client.get(
            f"{API}/gigs?category=ai-development&location_type=remote&sort=relevance&search=RAG", headers=h_free
        )
    )
    assert [g["id"] for g in found["items"]] == [gig_id]
    assert ok_data(await client.get(f"{API}/gigs?search=-chatbot"))["total"] == 0

    # Saves it, applies.
    ok_data(await client.put(f"{API}/gigs/{gig_id}/save", headers=h_free))
    application = ok_data(await apply(client, freelancer, gig_id, proposed_rate=2500, ai_tools_to_use=["Claude"]), 201)
    app_id = application["id"]
    assert application["status"] == "pending" and application["gig"]["id"] == gig_id
    assert ok_data(await client.get(f"{API}/gigs/{gig_id}"))["applications_count"] == 1

    # The poster is told, sees the application with its applicant, shortlists, accepts.
    [note] = await notifications_of(conn, poster)
    assert note["type"] == "new_application" and note["data"]["application_id"] == app_id
    listed = ok_data(await client.get(f"{API}/gigs/{gig_id}/applications", headers=h_poster))
    assert listed["total"] == 1 and listed["items"][0]["applicant"]["username"] == freelancer.username
    moved = ok_data(
        await client.put(f"{API}/applications/{app_id}/status", json={"status": "shortlisted"}, headers=h_poster)
    )
    assert moved["status"] == "shortlisted"
    shortlisted = ok_data(await client.get(f"{API}/gigs/{gig_id}/applications?status=shortlisted", headers=h_poster))
    assert [a["id"] for a in shortlisted["items"]] == [app_id]
    ok_data(await client.put(f"{API}/applications/{app_id}/status", json={"status": "accepted"}, headers=h_poster))
    ok_data(await client.put(f"{API}/gigs/{gig_id}/status", json={"status": "filled"}, headers=h_poster))

    # The freelancer sees the outcome and was told of each change; nobody reads others' notifications.
    mine = ok_data(await client.get(f"{API}/me/applications", headers=h_free))
    assert mine["total"] == 1 and mine["items"][0]["status"] == "accepted"
    assert mine["items"][0]["gig"]["status"] == "filled"
    assert ok_data(await client.get(f"{API}/me/applications?status=pending", headers=h_free))["total"] == 0
    statuses = sorted((n["type"], n["data"]["status"]) for n in await notifications_of(conn, freelancer))
    assert statuses == [("application_status", "accepted"), ("application_status", "shortlisted")]
    assert all(n["user_id"] == poster.id for n in await notifications_of(conn, poster))
    # A filled gig takes no more applications.
    late = await create_user(conn)
    error(await apply(client, late, gig_id), 409, "CONFLICT")


async def test_apply_errors(client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser) -> None:
    gig_id = await create_gig(conn, user)
    draft = await create_gig(conn, user, status="draft")
    paused = await create_gig(conn, user, status="paused")
    # 401 without a token, 400 with field errors, nothing created.
    error(
        await client.post(f"{API}/applications", json={"gig_id": str(gig_id), "cover_letter": COVER}),
        401,
        "UNAUTHORIZED",
    )
    err = error(
        await client.post(
            f"{API}/applications",
            json={"gig_id": "nope", "cover_letter": "hi", "proposed_rate": -5, "portfolio_items": ["ftp://x"]},
            headers=other_user.headers,
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert {"gig_id", "cover_letter", "proposed_rate", "portfolio_items"} <= set(err["fields"])
    # 404 for a gig that does not exist or that the caller may not see; 409 for one not taking applications.
    error(await apply(client, other_user, uuid4()), 404, "NOT_FOUND")
    error(await apply(client, other_user, draft), 404, "NOT_FOUND")
    error(await apply(client, user, draft), 403, "FORBIDDEN")  # the poster sees it, but it is their own
    error(await apply(client, other_user, paused), 404, "NOT_FOUND")
    # Never to one's own gig (403: the gig is visible, the act is not allowed).
    err = error(await apply(client, user, gig_id), 403, "FORBIDDEN")
    assert err["message"] == "You cannot apply to your own gig"
    # Once per gig.
    ok_data(await apply(client, other_user, gig_id), 201)
    err = error(await apply(client, other_user, gig_id), 409, "CONFLICT")
    assert err["message"] == "You already applied to this gig"
    await as_owner(conn)
    cur = await conn.execute(
        "select count(*) as n, max(applications_count) as c from public.applications a"
        " join public.gigs g on g.id = a.gig_id where a.gig_id = %s",
        (gig_id,),
    )
    assert (await cur.fetchone()) == {"n": 1, "c": 1}


async def test_status_changes_who_may_do_what(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    stranger = await create_user(conn)
    gig_id = await create_gig(conn, user)
    app_id = await create_application(conn, gig_id, other_user)
    url = f"{API}/applications/{app_id}/status"
    # Strangers cannot see it at all.
    error(await client.put(url, json={"status": "reviewing"}, headers=stranger.headers), 404, "NOT_FOUND")
    error(await client.post(f"{API}/applications/{app_id}/withdraw", headers=stranger.headers), 404, "NOT_FOUND")
    error(await client.get(f"{API}/gigs/{gig_id}/applications", headers=stranger.headers), 404, "NOT_FOUND")
    error(await client.get(f"{API}/gigs/{gig_id}/applications", headers=other_user.headers), 404, "NOT_FOUND")
    error(await client.get(f"{API}/gigs/{gig_id}/applications"), 401, "UNAUTHORIZED")
    # The applicant sees it but may not move it; the poster may not withdraw it.
    error(await client.put(url, json={"status": "accepted"}, headers=other_user.headers), 403, "FORBIDDEN")
    error(await client.put(url, json={"status": "withdrawn"}, headers=user.headers), 403, "FORBIDDEN")
    error(await client.post(f"{API}/applications/{app_id}/withdraw", headers=user.headers), 403, "FORBIDDEN")
    error(await client.put(url, json={"status": "hired"}, headers=user.headers), 400, "VALIDATION_ERROR")
    # Legal path, then final states refuse more moves.
    ok_data(await client.put(url, json={"status": "reviewing"}, headers=user.headers))
    error(await client.put(url, json={"status": "pending"}, headers=user.headers), 409, "CONFLICT")
    ok_data(await client.put(url, json={"status": "rejected"}, headers=user.headers))
    error(await client.put(url, json={"status": "accepted"}, headers=user.headers), 409, "CONFLICT")
    error(await client.post(f"{API}/applications/{app_id}/withdraw", headers=other_user.headers), 409, "CONFLICT")


async def test_withdraw_frees_the_count_and_is_final(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    gig_id = await create_gig(conn, user)
    app_id = ok_data(await apply(client, other_user, gig_id), 201)["id"]
    assert ok_data(await client.get(f"{API}/gigs/{gig_id}"))["applications_count"] == 1
    withdrawn = ok_data(await client.post(f"{API}/applications/{app_id}/withdraw", headers=other_user.headers))
    assert withdrawn["status"] == "withdrawn"
    # Withdrawn applications do not count; the poster is not told "withdrawn" as a status change.
    assert ok_data(await client.get(f"{API}/gigs/{gig_id}"))["applications_count"] == 0
    # Withdrawing again changes nothing (idempotent); moving it on is refused.
    again = ok_data(await client.post(f"{API}/applications/{app_id}/withdraw", headers=other_user.headers))
    assert again["status"] == "withdrawn" and again["updated_at"] == withdrawn["updated_at"]
    assert ok_data(await client.get(f"{API}/gigs/{gig_id}"))["applications_count"] == 0
    error(
        await client.put(f"{API}/applications/{app_id}/status", json={"status": "reviewing"}, headers=user.headers),
        409,
        "CONFLICT",
    )
    # One application per gig and person, withdrawn or not.
    error(await apply(client, other_user, gig_id), 409, "CONFLICT")


async def test_bulk_status_is_all_or_nothing(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    gig_id = await create_gig(conn, user)
    other_gig = await create_gig(conn, await create_user(conn))
    applicants = [await create_user(conn) for _ in range(4)]
    pending = [await create_application(conn, gig_id, a) for a in applicants[:2]]
    rejected = await create_application(conn, gig_id, applicants[2], status="rejected")
    foreign = await create_application(conn, other_gig, applicants[3])
    url = f"{API}/applications/bulk-status"

    async def statuses() -> dict[UUID, str]:
        await as_owner(conn)
        cur = await conn.execute("select id, status from public.applications where gig_id = %s", (gig_id,))
        return {r["id"]: r["status"] for r in await cur.fetchall()}

    before = await statuses()
    ids = [str(i) for i in [*pending, rejected]]
    err = error(
        await client.post(url, json={"ids": ids, "status": "shortlisted"}, headers=user.headers), 409, "CONFLICT"
    )
    assert str(rejected) in err["message"] and str(pending[0]) not in err["message"]
    assert await statuses() == before
    err = error(
        await client.post(
            url, json={"ids": [str(pending[0]), str(foreign)], "status": "reviewing"}, headers=user.headers
        ),
        404,
        "NOT_FOUND",
    )
    assert str(foreign) in err["message"]
    assert await statuses() == before
    error(
        await client.post(url, json={"ids": [], "status": "reviewing"}, headers=user.headers), 400, "VALIDATION_ERROR"
    )
    error(await client.post(url, json={"ids": ids, "status": "withdrawn"}, headers=user.headers), 403, "FORBIDDEN")

    done = ok_data(
        await client.post(url, json={"ids": [str(i) for i in pending], "status": "shortlisted"}, headers=user.headers)
    )
    assert sorted(done["updated"]) == sorted(str(i) for i in pending)
    after = await statuses()
    assert [after[i] for i in pending] == ["shortlisted", "shortlisted"] and after[rejected] == "rejected"
    # Each applicant was told.
    for applicant in applicants[:2]:
        assert [n["data"]["status"] for n in await notifications_of(conn, applicant)] == ["shortlisted"]
