"""Reviews over HTTP: who may review whom and when, once per gig, the aggregate, the public reads,
the review_received notification."""

from __future__ import annotations

import uuid

import httpx

from shared.db import Conn
from tests.factories.messaging import create_application, create_gig, hired_gig, notifications_of, set_gig_status
from tests.factories.users import TestUser, create_user


async def _review(
    client: httpx.AsyncClient,
    who: TestUser | None,
    gig: uuid.UUID,
    reviewee: TestUser,
    rating: object = 5,
    **extra: object,
) -> httpx.Response:
    return await client.post(
        "/api/v1/reviews",
        json={"gig_id": str(gig), "reviewee_id": str(reviewee.id), "rating": rating, **extra},
        headers=who.headers if who else {},
    )


async def test_poster_and_hired_freelancer_review_each_other_once(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    gig = await hired_gig(conn, user, other_user)
    first = await _review(client, user, gig, other_user, 4, comment="  Great work  ")
    assert first.status_code == 201, first.text
    review = first.json()["data"]
    assert review["reviewer_id"] == str(user.id) and review["reviewee_id"] == str(other_user.id)
    assert review["comment"] == "Great work"
    assert review["reviewer"]["username"] == user.username
    back = await _review(client, other_user, gig, user, 5)
    assert back.status_code == 201

    again = await _review(client, user, gig, other_user, 1)
    assert again.status_code == 409

    [note] = await notifications_of(conn, other_user, "review_received")
    assert note["data"]["review_id"] == review["id"] and note["data"]["rating"] == 4

    rating = await client.get(f"/api/v1/users/{other_user.id}/rating")
    assert rating.status_code == 200
    assert rating.json()["data"] == {"average": 4.0, "count": 1}
    profile = (await client.get(f"/api/v1/profiles/{other_user.username}")).json()["data"]
    assert (profile["rating_average"], profile["rating_count"]) == (4.0, 1)  # the public profile shows it
    listed = await client.get(f"/api/v1/users/{other_user.id}/reviews")  # public
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["data"]["items"]] == [review["id"]]
    assert listed.json()["data"]["total"] == 1


async def test_aggregate_follows_every_review(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    ratings = [5, 4, 4]
    for r in ratings:
        poster = await create_user(conn)
        gig = await hired_gig(conn, poster, user, final_status="closed")
        assert (await _review(client, poster, gig, user, r)).status_code == 201
    data = (await client.get(f"/api/v1/users/{user.id}/rating")).json()["data"]
    assert data == {"average": 4.33, "count": 3}
    page = (await client.get(f"/api/v1/users/{user.id}/reviews", params={"limit": 2})).json()["data"]
    assert len(page["items"]) == 2 and page["total"] == 3 and page["hasMore"] is True
    cur = await conn.execute("select rating_average, rating_count from public.profiles where id = %s", (user.id,))
    row = await cur.fetchone()
    assert row is not None and float(row["rating_average"]) == 4.33 and row["rating_count"] == 3


async def test_who_and_when(client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser) -> None:
    outsider, rejected = await create_user(conn), await create_user(conn)
    gig = await create_gig(conn, user)
    await create_application(conn, gig, other_user, status="accepted")
    await create_application(conn, gig, rejected, status="rejected")

    # Still active: not yet.
    not_yet = await _review(client, user, gig, other_user)
    assert not_yet.status_code == 409
    await set_gig_status(conn, gig, "filled")
    # Only between the poster and an accepted applicant.
    assert (await _review(client, outsider, gig, user)).status_code == 403
    assert (await _review(client, user, gig, rejected)).status_code == 403
    assert (await _review(client, rejected, gig, user)).status_code == 403
    assert (await _review(client, other_user, gig, outsider)).status_code == 403
    assert (await _review(client, user, gig, user)).status_code == 403
    assert (await _review(client, user, uuid.uuid4(), other_user)).status_code == 404
    assert (await _review(client, None, gig, other_user)).status_code == 401
    # Validation before the database: rating 1..5 integers, comment length, no unknown fields.
    for bad in (0, 6, 4.5, "5", None):
        response = await _review(client, user, gig, other_user, bad)
        assert response.status_code == 400, bad
        assert "rating" in response.json()["error"]["fields"]
    long = await _review(client, user, gig, other_user, 5, comment="x" * 2001)
    assert long.status_code == 400 and "comment" in long.json()["error"]["fields"]
    assert (await _review(client, user, gig, other_user, 5, reviewer_id=str(outsider.id))).status_code == 400
    assert await notifications_of(conn, other_user, "review_received") == []
    assert (await client.get(f"/api/v1/users/{other_user.id}/rating")).json()["data"] == {"average": 0.0, "count": 0}
    assert (await client.get(f"/api/v1/users/{uuid.uuid4()}/rating")).status_code == 404
    assert (await client.get(f"/api/v1/users/{uuid.uuid4()}/reviews")).status_code == 404
    bad_token = await client.get(f"/api/v1/users/{user.id}/rating", headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
