"""Notifications over HTTP: the database writes them with their cause; a user lists, counts and
marks only their own."""

from __future__ import annotations

import uuid

import httpx

from shared.db import Conn
from tests.factories.messaging import (
    add_message,
    create_application,
    create_conversation,
    create_gig,
    notifications_of,
    set_gig_status,
)
from tests.factories.users import TestUser, create_user


async def test_gig_status_change_notifies_applicants_still_in_the_running(conn: Conn, user: TestUser) -> None:
    pending, shortlisted, rejected, withdrawn = [await create_user(conn) for _ in range(4)]
    gig = await create_gig(conn, user)
    await create_application(conn, gig, pending)
    await create_application(conn, gig, shortlisted, status="shortlisted")
    await create_application(conn, gig, rejected, status="rejected")
    await create_application(conn, gig, withdrawn, status="withdrawn")
    await set_gig_status(conn, gig, "paused")
    for who in (pending, shortlisted):
        [note] = await notifications_of(conn, who, "gig_update")
        assert note["data"]["gig_id"] == str(gig)
        assert (note["data"]["status"], note["data"]["previous_status"]) == ("paused", "active")
    for who in (rejected, withdrawn, user):
        assert await notifications_of(conn, who, "gig_update") == []


async def test_list_count_and_mark_only_ones_own(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    third = await create_user(conn)
    for sender in (other_user, third):
        conv = await create_conversation(conn, user, sender)
        await add_message(conn, conv, sender, f"from {sender.username}")
        await add_message(conn, conv, user, "reply")  # a new_message for them
    gig = await create_gig(conn, user)
    await create_application(conn, gig, other_user)  # new_application for user
    mine = await notifications_of(conn, user)
    assert sorted(n["type"] for n in mine) == ["new_application", "new_message", "new_message"]
    theirs = await notifications_of(conn, other_user)
    assert [n["type"] for n in theirs] == ["new_message"]

    listed = await client.get("/api/v1/notifications", headers=user.headers)
    assert listed.status_code == 200
    data = listed.json()["data"]
    assert data["total"] == 3 and {n["user_id"] for n in data["items"]} == {str(user.id)}
    count = await client.get("/api/v1/notifications/unread-count", headers=user.headers)
    assert count.json()["data"] == {"count": 3}

    target = str(mine[0]["id"])
    read = await client.post(f"/api/v1/notifications/{target}/read", headers=user.headers)
    assert read.status_code == 200 and read.json()["data"]["read_at"] is not None
    first_read = read.json()["data"]["read_at"]
    again = await client.post(f"/api/v1/notifications/{target}/read", headers=user.headers)
    assert again.json()["data"]["read_at"] == first_read  # the first read time stays
    assert (await client.get("/api/v1/notifications/unread-count", headers=user.headers)).json()["data"]["count"] == 2
    unread = (await client.get("/api/v1/notifications", params={"unread_only": "true"}, headers=user.headers)).json()
    assert target not in {n["id"] for n in unread["data"]["items"]} and unread["data"]["total"] == 2

    # Someone else's notification: 404, and nothing changes.
    foreign = await client.post(f"/api/v1/notifications/{theirs[0]['id']}/read", headers=user.headers)
    assert foreign.status_code == 404
    assert (await client.post(f"/api/v1/notifications/{uuid.uuid4()}/read", headers=user.headers)).status_code == 404

    all_read = await client.post("/api/v1/notifications/read-all", headers=user.headers)
    assert all_read.status_code == 200 and all_read.json()["data"] == {"updated": 2}
    assert (await client.get("/api/v1/notifications/unread-count", headers=user.headers)).json()["data"]["count"] == 0
    # The other users' notifications are untouched.
    assert all(n["read_at"] is None for n in await notifications_of(conn, other_user))

    page = (await client.get("/api/v1/notifications", params={"limit": 2, "page": 2}, headers=user.headers)).json()
    assert len(page["data"]["items"]) == 1 and page["data"]["hasMore"] is False


async def test_notification_errors(client: httpx.AsyncClient, user: TestUser) -> None:
    assert (await client.get("/api/v1/notifications")).status_code == 401
    assert (await client.get("/api/v1/notifications/unread-count")).status_code == 401
    assert (await client.post("/api/v1/notifications/read-all")).status_code == 401
    bad = await client.get("/api/v1/notifications", params={"limit": 1000}, headers=user.headers)
    assert bad.status_code == 400 and "limit" in bad.json()["error"]["fields"]
    bad_flag = await client.get("/api/v1/notifications", params={"unread_only": "maybe"}, headers=user.headers)
    assert bad_flag.status_code == 400
    bad_id = await client.post("/api/v1/notifications/not-an-id/read", headers=user.headers)
    assert bad_id.status_code == 400
    empty = await client.get("/api/v1/notifications", headers=user.headers)
    assert empty.json()["data"] == {"items": [], "total": 0, "page": 1, "limit": 20, "hasMore": False}
