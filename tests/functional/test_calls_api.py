"""Video calls over HTTP: instant and scheduled calls, notifications, lists, ending, error paths."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from shared.config import get_settings
from shared.db import Conn
from tests.factories.messaging import create_application, create_call, create_gig, notifications_of
from tests.factories.users import TestUser, as_owner, create_user


def _future(minutes: int = 60) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def test_instant_call_starts_now_with_an_unguessable_room_and_notifies(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    response = await client.post("/api/v1/calls", json={"participant_id": str(other_user.id)}, headers=user.headers)
    assert response.status_code == 201, response.text
    call = response.json()["data"]
    assert call["initiator_id"] == str(user.id)
    assert sorted(call["participant_ids"]) == sorted([str(user.id), str(other_user.id)])
    assert call["started_at"] is not None and call["ended_at"] is None and call["scheduled_at"] is None
    assert len(call["room_id"]) >= 32
    assert call["join_url"] == get_settings().video_call_base_url.rstrip("/") + "/" + call["room_id"]
    second = (
        await client.post("/api/v1/calls", json={"participant_id": str(other_user.id)}, headers=user.headers)
    ).json()["data"]
    assert second["room_id"] != call["room_id"]

    notes = await notifications_of(conn, other_user, "call_scheduled")
    assert {n["data"]["call_id"] for n in notes} == {call["id"], second["id"]}
    assert {n["title"] for n in notes} == {"Incoming video call"}
    assert await notifications_of(conn, user, "call_scheduled") == []


async def test_scheduled_call_lists_and_end(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    stranger = await create_user(conn)
    when = _future(120)
    scheduled = await client.post(
        "/api/v1/calls", json={"participant_id": str(other_user.id), "scheduled_at": when}, headers=user.headers
    )
    assert scheduled.status_code == 201, scheduled.text
    call = scheduled.json()["data"]
    assert call["started_at"] is None
    assert datetime.fromisoformat(call["scheduled_at"]) == datetime.fromisoformat(when)
    [note] = await notifications_of(conn, other_user, "call_scheduled")
    assert note["title"] == "Video call scheduled"

    instant = (
        await client.post("/api/v1/calls", json={"participant_id": str(user.id)}, headers=other_user.headers)
    ).json()["data"]
    upcoming = (await client.get("/api/v1/calls/upcoming", headers=user.headers)).json()["data"]
    assert {c["id"] for c in upcoming} == {call["id"], instant["id"]}
    assert (await client.get("/api/v1/calls/upcoming", headers=stranger.headers)).json()["data"] == []

    # Ending: participants only (404 for others), idempotent (the first end time stays).
    assert (await client.post(f"/api/v1/calls/{instant['id']}/end", headers=stranger.headers)).status_code == 404
    ended = await client.post(f"/api/v1/calls/{instant['id']}/end", headers=user.headers)
    assert ended.status_code == 200
    first_end = ended.json()["data"]["ended_at"]
    assert first_end is not None
    again = await client.post(f"/api/v1/calls/{instant['id']}/end", headers=other_user.headers)
    assert again.status_code == 200 and again.json()["data"]["ended_at"] == first_end

    upcoming = (await client.get("/api/v1/calls/upcoming", headers=user.headers)).json()["data"]
    assert [c["id"] for c in upcoming] == [call["id"]]
    history = (await client.get("/api/v1/calls/history", headers=other_user.headers)).json()["data"]
    assert [c["id"] for c in history] == [instant["id"]]
    # A scheduled call whose time passed without anyone starting it belongs to the history.
    past = await create_call(conn, other_user, user, scheduled_at=datetime.now(UTC) + timedelta(hours=1))
    await as_owner(conn)
    await conn.execute("select set_config('session_replication_role', 'replica', true)")  # skip the trigger
    await conn.execute("update public.video_calls set scheduled_at = now() - interval '1 day' where id = %s", (past,))
    await conn.execute("select set_config('session_replication_role', 'origin', true)")
    history = (await client.get("/api/v1/calls/history", headers=user.headers)).json()["data"]
    assert [c["id"] for c in history] == [instant["id"], str(past)]
    limited = await client.get("/api/v1/calls/history", params={"limit": 1}, headers=user.headers)
    assert limited.status_code == 200 and [c["id"] for c in limited.json()["data"]] == [instant["id"]]


async def test_call_errors(client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser) -> None:
    async def post(body: dict[str, object], who: TestUser | None = user) -> httpx.Response:
        return await client.post("/api/v1/calls", json=body, headers=who.headers if who else {})

    assert (await post({"participant_id": str(other_user.id)}, None)).status_code == 401
    past = await post({"participant_id": str(other_user.id), "scheduled_at": _future(-5)})
    assert past.status_code == 400 and "scheduled_at" in past.json()["error"]["fields"]
    naive = await post({"participant_id": str(other_user.id), "scheduled_at": "2099-01-01T10:00:00"})
    assert naive.status_code == 400 and "scheduled_at" in naive.json()["error"]["fields"]
    myself = await post({"participant_id": str(user.id)})
    assert myself.status_code == 400 and "participant_id" in myself.json()["error"]["fields"]
    assert (await post({"participant_id": str(uuid.uuid4())})).status_code == 404
    assert (await post({"participant_id": str(other_user.id), "gig_id": str(uuid.uuid4())})).status_code == 404
    assert (await post({"participant_id": "x"})).status_code == 400
    assert (await post({"participant_id": str(other_user.id), "room_id": "mine"})).status_code == 400
    assert (await client.get("/api/v1/calls/history", params={"limit": 0}, headers=user.headers)).status_code == 400
    assert (await client.post(f"/api/v1/calls/{uuid.uuid4()}/end", headers=user.headers)).status_code == 404
    assert await notifications_of(conn, other_user, "call_scheduled") == []


async def test_call_about_an_application_is_between_its_parties(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    outsider = await create_user(conn)
    gig = await create_gig(conn, user)
    application = await create_application(conn, gig, other_user)
    ok_call = await client.post(
        "/api/v1/calls",
        json={"participant_id": str(other_user.id), "application_id": str(application)},
        headers=user.headers,
    )
    assert ok_call.status_code == 201, ok_call.text
    assert ok_call.json()["data"]["gig_id"] == str(gig)
    # Someone who cannot see the application gets 404; a third party cannot be pulled in.
    hidden = await client.post(
        "/api/v1/calls",
        json={"participant_id": str(user.id), "application_id": str(application)},
        headers=outsider.headers,
    )
    assert hidden.status_code == 404
    third = await client.post(
        "/api/v1/calls",
        json={"participant_id": str(outsider.id), "application_id": str(application)},
        headers=user.headers,
    )
    assert third.status_code == 403
