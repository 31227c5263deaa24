"""The invitation lifecycle over HTTP: admins invite by email (one pending per email), the invited user
(by verified email, nobody else) accepts or declines, admins revoke, expired invitations cannot be
accepted and are swept by the cleanup cron's task."""

from __future__ import annotations

import uuid

import httpx

from shared.config import get_settings
from shared.db import Conn, Database
from shared.services import cleanup_tasks
from tests.factories.accounts import Org, create_org
from tests.factories.users import TestUser, as_owner, create_user

API = "/api/v1"


async def _setup(conn: Conn) -> tuple[Org, TestUser, TestUser, TestUser, TestUser]:
    owner, admin, member = (await create_user(conn), await create_user(conn), await create_user(conn))
    invitee = await create_user(conn, email=f"invitee-{uuid.uuid4().hex[:6]}@example.test")
    org = await create_org(conn, owner, admins=(admin,), members=(member,))
    return org, owner, admin, member, invitee


async def _invite(
    client: httpx.AsyncClient, org: Org, by: TestUser, email: str, role: str = "member"
) -> httpx.Response:
    return await client.post(
        f"{API}/organizations/{org.id}/invitations",
        json={"email": email, "role": role, "message": "Join us"},
        headers=by.headers,
    )


async def _members(conn: Conn, org: Org) -> dict[uuid.UUID, str]:
    await as_owner(conn)
    cur = await conn.execute(
        "select user_id, role from public.organization_members where organization_id = %s", (org.id,)
    )
    return {r["user_id"]: r["role"] for r in await cur.fetchall()}


async def test_invite_then_the_invited_user_accepts(client: httpx.AsyncClient, conn: Conn) -> None:
    org, _owner, admin, _member, invitee = await _setup(conn)
    response = await _invite(client, org, admin, invitee.email.upper())
    assert response.status_code == 201, response.text
    invitation = response.json()["data"]
    assert invitation["email"] == invitee.email and invitation["status"] == "pending"
    assert invitation["invited_by"] == str(admin.id)

    pending = (await client.get(f"{API}/organizations/{org.id}/invitations", headers=admin.headers)).json()["data"]
    assert [i["id"] for i in pending] == [invitation["id"]]
    mine = (await client.get(f"{API}/me/invitations", headers=invitee.headers)).json()["data"]
    assert [i["id"] for i in mine] == [invitation["id"]]

    accepted = await client.post(f"{API}/invitations/{invitation['id']}/accept", headers=invitee.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["data"]["status"] == "accepted"
    assert (await _members(conn, org))[invitee.id] == "member"
    again = await client.post(f"{API}/invitations/{invitation['id']}/accept", headers=invitee.headers)
    assert again.status_code == 409
    assert (await client.get(f"{API}/organizations/{org.id}", headers=invitee.headers)).status_code == 200


async def test_the_wrong_user_cannot_accept_or_decline(client: httpx.AsyncClient, conn: Conn) -> None:
    org, _owner, admin, member, invitee = await _setup(conn)
    invitation = (await _invite(client, org, admin, invitee.email)).json()["data"]
    stranger = await create_user(conn)
    for who in (stranger, member, admin):
        for action in ("accept", "decline"):
            response = await client.post(f"{API}/invitations/{invitation['id']}/{action}", headers=who.headers)
            assert response.status_code == 404, (who, action, response.text)
    assert (await client.get(f"{API}/me/invitations", headers=stranger.headers)).json()["data"] == []
    assert stranger.id not in await _members(conn, org)
    # An unverified address is not proof of identity either.
    await conn.execute("update auth.users set email_confirmed_at = null where id = %s", (invitee.id,))
    response = await client.post(f"{API}/invitations/{invitation['id']}/accept", headers=invitee.headers)
    assert response.status_code == 404
    assert invitee.id not in await _members(conn, org)


async def test_decline(client: httpx.AsyncClient, conn: Conn) -> None:
    org, _owner, admin, _member, invitee = await _setup(conn)
    invitation = (await _invite(client, org, admin, invitee.email)).json()["data"]
    declined = await client.post(f"{API}/invitations/{invitation['id']}/decline", headers=invitee.headers)
    assert declined.status_code == 200 and declined.json()["data"]["status"] == "declined"
    assert invitee.id not in await _members(conn, org)
    assert (
        await client.post(f"{API}/invitations/{invitation['id']}/accept", headers=invitee.headers)
    ).status_code == 409
    # A declined invitation does not block a new one.
    assert (await _invite(client, org, admin, invitee.email)).status_code == 201


async def test_one_pending_invitation_per_email_and_none_for_members(client: httpx.AsyncClient, conn: Conn) -> None:
    org, _owner, admin, member, invitee = await _setup(conn)
    assert (await _invite(client, org, admin, invitee.email)).status_code == 201
    duplicate = await _invite(client, org, admin, invitee.email)
    assert duplicate.status_code == 409 and "pending invitation" in duplicate.json()["error"]["message"]
    already = await _invite(client, org, admin, member.email)
    assert already.status_code == 409


async def test_who_may_invite(client: httpx.AsyncClient, conn: Conn) -> None:
    org, owner, admin, member, invitee = await _setup(conn)
    outsider = await create_user(conn)
    assert (await _invite(client, org, member, invitee.email)).status_code == 403
    assert (await _invite(client, org, outsider, invitee.email)).status_code == 404
    assert (await _invite(client, org, admin, invitee.email, role="admin")).status_code == 403
    assert (await _invite(client, org, admin, invitee.email, role="owner")).status_code == 400
    assert (await client.get(f"{API}/organizations/{org.id}/invitations", headers=member.headers)).status_code == 403
    made = await _invite(client, org, owner, invitee.email, role="admin")
    assert made.status_code == 201
    await client.post(f"{API}/invitations/{made.json()['data']['id']}/accept", headers=invitee.headers)
    assert (await _members(conn, org))[invitee.id] == "admin"


async def test_bad_invitation_input(client: httpx.AsyncClient, conn: Conn) -> None:
    org, _owner, admin, _member, _invitee = await _setup(conn)
    response = await client.post(
        f"{API}/organizations/{org.id}/invitations",
        json={"email": "nope", "message": "x" * 1001},
        headers=admin.headers,
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"email", "message"}


async def test_revoked_invitation_cannot_be_accepted(client: httpx.AsyncClient, conn: Conn) -> None:
    org, _owner, admin, member, invitee = await _setup(conn)
    invitation = (await _invite(client, org, admin, invitee.email)).json()["data"]
    url = f"{API}/organizations/{org.id}/invitations/{invitation['id']}"
    assert (await client.delete(url, headers=member.headers)).status_code == 403
    revoked = await client.delete(url, headers=admin.headers)
    assert revoked.status_code == 200 and revoked.json()["data"]["status"] == "revoked"
    assert (await client.delete(url, headers=admin.headers)).status_code == 409
    assert (
        await client.post(f"{API}/invitations/{invitation['id']}/accept", headers=invitee.headers)
    ).status_code == 409
    assert invitee.id not in await _members(conn, org)


async def test_expired_invitation_cannot_be_accepted_and_is_swept(
    client: httpx.AsyncClient, conn: Conn, db: Database
) -> None:
    org, _owner, admin, _member, invitee = await _setup(conn)
    invitation = (await _invite(client, org, admin, invitee.email)).json()["data"]
    await as_owner(conn)
    await conn.execute(
        "update public.invitations set expires_at = now() - interval '1 minute' where id = %s", (invitation["id"],)
    )
    response = await client.post(f"{API}/invitations/{invitation['id']}/accept", headers=invitee.headers)
    assert response.status_code == 409
    assert "expired" in response.json()["error"]["message"]
    assert invitee.id not in await _members(conn, org)
    assert (await client.get(f"{API}/me/invitations", headers=invitee.headers)).json()["data"] == []
    # A new invitation replaces the stale one, and the cron's sweep marks leftovers expired.
    fresh = await _invite(client, org, admin, invitee.email)
    assert fresh.status_code == 201
    await as_owner(conn)
    cur = await conn.execute("select status from public.invitations where id = %s", (invitation["id"],))
    row = await cur.fetchone()
    assert row is not None and row["status"] == "expired"
    await conn.execute(
        "update public.invitations set expires_at = now() - interval '1 minute' where id = %s",
        (fresh.json()["data"]["id"],),
    )
    assert await cleanup_tasks.expire_invitations(db, get_settings()) == 1
    cur = await conn.execute("select status from public.invitations where id = %s", (fresh.json()["data"]["id"],))
    row = await cur.fetchone()
    assert row is not None and row["status"] == "expired"
