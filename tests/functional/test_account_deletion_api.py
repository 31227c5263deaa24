"""Deleting an account never leaves an organization without an owner (admin console over HTTP): the only
owner of an organization that still has other members is refused with a 409 naming it and nothing
changes; an organization the account alone belongs to goes with it; a co-owned one keeps its other
owner; deleting an organization itself still takes its memberships with it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared.db import Conn
from tests.factories.accounts import Org, create_org, create_platform_user
from tests.factories.marketplace import create_gig
from tests.factories.users import TestUser, as_owner, create_user

API = "/api/v1"
ADMIN = f"{API}/admin"


async def _rows(conn: Conn, user: TestUser, *orgs: Org) -> dict[str, Any]:
    """What a deletion could change: the account, its profile and gigs, the organizations and members."""
    await as_owner(conn)
    ids = [o.id for o in orgs]
    queries = {
        "user": ("select id from auth.users where id = %s", (user.id,)),
        "profile": ("select id from public.profiles where id = %s", (user.id,)),
        "gigs": ("select id, organization_id from public.gigs where poster_id = %s order by id", (user.id,)),
        "orgs": ("select id, name from public.organizations where id = any(%s) order by id", (ids,)),
        "members": (
            "select organization_id, user_id, role from public.organization_members"
            " where organization_id = any(%s) order by organization_id, user_id",
            (ids,),
        ),
        "categories": ("select id from public.categories where organization_id = any(%s) order by id", (ids,)),
    }
    state: dict[str, Any] = {}
    for name, (sql, params) in queries.items():
        cur = await conn.execute(sql, params)
        state[name] = await cur.fetchall()
    return state


async def _org_category(conn: Conn, org: Org) -> None:
    await as_owner(conn)
    await conn.execute(
        "insert into public.categories (organization_id, slug, name) values (%s, %s, 'Internal')",
        (org.id, f"internal-{uuid.uuid4().hex[:6]}"),
    )


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code
    assert "fields" not in body["error"]
    message: str = body["error"]["message"]
    return message


async def test_sole_owner_of_an_organization_with_members_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, conn: Conn
) -> None:
    admin = await create_platform_user(conn, "admin")
    owner, member = await create_user(conn), await create_user(conn)
    name = f"Acme Robotics {uuid.uuid4().hex[:4]}"
    org = await create_org(conn, owner, members=(member,), name=name)
    await create_gig(conn, owner, organization_id=org.id)
    await create_gig(conn, owner)
    before = await _rows(conn, owner, org)

    refused = await client.delete(f"{ADMIN}/users/{owner.id}", headers=admin.headers)

    message = _error(refused, 409, "CONFLICT")
    assert f"transfer ownership of {name} or delete the organization first" in message
    assert await _rows(conn, owner, org) == before
    assert (await client.get(f"{ADMIN}/users/{owner.id}", headers=admin.headers)).status_code == 200
    members = (await client.get(f"{API}/organizations/{org.id}/members", headers=member.headers)).json()["data"]
    assert {(m["user_id"], m["role"]) for m in members} == {(str(owner.id), "owner"), (str(member.id), "member")}

    # What the message asks for: once someone else is owner, the account can go and the org stays.
    promoted = await client.patch(
        f"{API}/organizations/{org.id}/members/{member.id}", json={"role": "owner"}, headers=owner.headers
    )
    assert promoted.status_code == 200, promoted.text
    assert (await client.delete(f"{ADMIN}/users/{owner.id}", headers=admin.headers)).status_code == 200
    after = await _rows(conn, owner, org)
    assert after["user"] == [] and after["gigs"] == []
    assert after["orgs"] == before["orgs"]
    assert after["members"] == [{"organization_id": org.id, "user_id": member.id, "role": "owner"}]


async def test_an_organization_the_account_alone_belongs_to_goes_with_it(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    owner = await create_user(conn)
    org = await create_org(conn, owner)
    await _org_category(conn, org)
    await create_gig(conn, owner, organization_id=org.id)
    before = await _rows(conn, owner, org)
    assert len(before["orgs"]) == 1 and len(before["categories"]) == 1 and len(before["gigs"]) == 1

    assert (await client.delete(f"{ADMIN}/users/{owner.id}", headers=admin.headers)).status_code == 200

    after = await _rows(conn, owner, org)
    assert after == {"user": [], "profile": [], "gigs": [], "orgs": [], "members": [], "categories": []}
    _error(await client.get(f"{ADMIN}/organizations/{org.id}", headers=admin.headers), 404, "NOT_FOUND")


async def test_a_co_owned_organization_keeps_its_other_owner(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    owner, co_owner, member = await create_user(conn), await create_user(conn), await create_user(conn)
    org = await create_org(conn, owner, members=(member,))
    await as_owner(conn)
    await conn.execute(
        "insert into public.organization_members (organization_id, user_id, role) values (%s, %s, 'owner')",
        (org.id, co_owner.id),
    )

    assert (await client.delete(f"{ADMIN}/users/{owner.id}", headers=admin.headers)).status_code == 200

    after = await _rows(conn, owner, org)
    assert after["user"] == [] and len(after["orgs"]) == 1
    assert {(m["user_id"], m["role"]) for m in after["members"]} == {(co_owner.id, "owner"), (member.id, "member")}
    listed = (await client.get(f"{ADMIN}/organizations/{org.id}", headers=admin.headers)).json()["data"]
    assert listed["member_count"] == 2


async def test_one_refusal_among_several_organizations_keeps_them_all(client: httpx.AsyncClient, conn: Conn) -> None:
    # The account alone belongs to one organization and is the only owner of another with a member:
    # the refusal undoes everything, including the organization that would have closed.
    admin = await create_platform_user(conn, "admin")
    owner, member = await create_user(conn), await create_user(conn)
    solo = await create_org(conn, owner, name=f"Solo {uuid.uuid4().hex[:4]}")
    team_name = f"Team {uuid.uuid4().hex[:4]}"
    team = await create_org(conn, owner, members=(member,), name=team_name)
    await create_gig(conn, owner, organization_id=solo.id)
    before = await _rows(conn, owner, solo, team)

    message = _error(await client.delete(f"{ADMIN}/users/{owner.id}", headers=admin.headers), 409, "CONFLICT")

    assert team_name in message and solo.slug not in message
    assert await _rows(conn, owner, solo, team) == before


async def test_an_organization_with_gigs_of_former_members_is_not_deleted_with_the_account(
    client: httpx.AsyncClient, conn: Conn
) -> None:
    admin = await create_platform_user(conn, "admin")
    owner, former = await create_user(conn), await create_user(conn)
    name = f"Studio {uuid.uuid4().hex[:4]}"
    org = await create_org(conn, owner, members=(former,), name=name)
    await create_gig(conn, former, organization_id=org.id)
    left = await client.delete(f"{API}/organizations/{org.id}/members/{former.id}", headers=former.headers)
    assert left.status_code == 200, left.text
    before = await _rows(conn, owner, org)

    message = _error(await client.delete(f"{ADMIN}/users/{owner.id}", headers=admin.headers), 409, "CONFLICT")

    assert name in message and "gigs" in message
    assert await _rows(conn, owner, org) == before


async def test_deleting_an_organization_still_takes_its_memberships(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    owner, org_admin, member = await create_user(conn), await create_user(conn), await create_user(conn)
    by_owner = await create_org(conn, owner, admins=(org_admin,), members=(member,))
    by_platform_admin = await create_org(conn, owner, admins=(org_admin,), members=(member,))

    assert (await client.delete(f"{API}/organizations/{by_owner.id}", headers=owner.headers)).status_code == 200
    deleted = await client.delete(f"{ADMIN}/organizations/{by_platform_admin.id}", headers=admin.headers)
    assert deleted.status_code == 200, deleted.text

    after = await _rows(conn, owner, by_owner, by_platform_admin)
    assert after["orgs"] == [] and after["members"] == []
    mine = (await client.get(f"{API}/me/organizations", headers=member.headers)).json()["data"]
    assert mine == []
    # With no organization left, the account itself goes without objection.
    assert (await client.delete(f"{ADMIN}/users/{owner.id}", headers=admin.headers)).status_code == 200
