"""Organizations over HTTP: who may read, change and delete them, the member rules (admins cannot act
on owners, only owners grant admin, an organization always keeps an owner) and their own categories."""

from __future__ import annotations

import httpx

from shared.db import Conn
from tests.factories.accounts import Org, create_org
from tests.factories.users import TestUser, as_owner, create_user

API = "/api/v1"


async def _team(conn: Conn) -> tuple[Org, TestUser, TestUser, TestUser, TestUser]:
    owner, admin, member, outsider = [await create_user(conn) for _ in range(4)]
    org = await create_org(conn, owner, admins=(admin,), members=(member,))
    return org, owner, admin, member, outsider


async def test_creator_becomes_owner_and_slug_must_be_unique(client: httpx.AsyncClient, user: TestUser) -> None:
    response = await client.post(f"{API}/organizations", json={"name": "Acme Robots"}, headers=user.headers)
    assert response.status_code == 201, response.text
    org = response.json()["data"]
    assert org["slug"] == "acme-robots"
    assert org["role"] == "owner"
    assert org["member_count"] == 1
    assert org["created_by"] == str(user.id)
    mine = (await client.get(f"{API}/me/organizations", headers=user.headers)).json()["data"]
    assert [(o["id"], o["role"]) for o in mine] == [(org["id"], "owner")]

    again = await client.post(
        f"{API}/organizations", json={"name": "Other", "slug": "acme-robots"}, headers=user.headers
    )
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "This slug is taken"
    assert "fields" not in again.json()["error"]  # fields belong to validation errors only


async def test_bad_organization_input_gets_field_errors(client: httpx.AsyncClient, user: TestUser) -> None:
    response = await client.post(
        f"{API}/organizations", json={"name": " ", "slug": "Not A Slug", "extra": 1}, headers=user.headers
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"name", "slug", "extra"}
    assert (await client.get(f"{API}/me/organizations", headers=user.headers)).json()["data"] == []


async def test_who_reads_changes_and_deletes_an_organization(client: httpx.AsyncClient, conn: Conn) -> None:
    org, owner, admin, member, outsider = await _team(conn)
    url = f"{API}/organizations/{org.id}"
    assert (await client.get(url, headers=outsider.headers)).status_code == 404
    assert (await client.get(url, headers=member.headers)).json()["data"]["role"] == "member"

    assert (await client.patch(url, json={"name": "Nope"}, headers=outsider.headers)).status_code == 404
    assert (await client.patch(url, json={"name": "Nope"}, headers=member.headers)).status_code == 403
    renamed = await client.patch(url, json={"name": "Renamed"}, headers=admin.headers)
    assert renamed.status_code == 200 and renamed.json()["data"]["name"] == "Renamed"

    assert (await client.delete(url, headers=admin.headers)).status_code == 403
    assert (await client.delete(url, headers=owner.headers)).status_code == 200
    assert (await client.get(url, headers=owner.headers)).status_code == 404


async def test_members_list_is_for_members_only(client: httpx.AsyncClient, conn: Conn) -> None:
    org, owner, admin, member, outsider = await _team(conn)
    url = f"{API}/organizations/{org.id}/members"
    listed = (await client.get(url, headers=member.headers)).json()["data"]
    assert [(m["user_id"], m["role"]) for m in listed] == [
        (str(owner.id), "owner"),
        (str(admin.id), "admin"),
        (str(member.id), "member"),
    ]
    assert listed[0]["email"] == owner.email
    assert (await client.get(url, headers=outsider.headers)).status_code == 404


async def test_admins_cannot_act_on_owners_or_grant_admin(client: httpx.AsyncClient, conn: Conn) -> None:
    org, owner, admin, member, _ = await _team(conn)
    base = f"{API}/organizations/{org.id}/members"
    assert (await client.delete(f"{base}/{owner.id}", headers=admin.headers)).status_code == 403
    assert (await client.patch(f"{base}/{owner.id}", json={"role": "member"}, headers=admin.headers)).status_code == 403
    assert (await client.patch(f"{base}/{member.id}", json={"role": "admin"}, headers=admin.headers)).status_code == 403
    assert (
        await client.patch(f"{base}/{member.id}", json={"role": "owner"}, headers=member.headers)
    ).status_code == 403
    # Only owners grant and take admin.
    promoted = await client.patch(f"{base}/{member.id}", json={"role": "admin"}, headers=owner.headers)
    assert promoted.status_code == 200 and promoted.json()["data"]["role"] == "admin"
    assert (await client.delete(f"{base}/{admin.id}", headers=member.headers)).status_code == 403
    # Admins remove plain members.
    await client.patch(f"{base}/{member.id}", json={"role": "member"}, headers=owner.headers)
    assert (await client.delete(f"{base}/{member.id}", headers=admin.headers)).status_code == 200
    roles = {m["user_id"]: m["role"] for m in (await client.get(base, headers=owner.headers)).json()["data"]}
    assert roles == {str(owner.id): "owner", str(admin.id): "admin"}


async def test_sole_owner_cannot_leave_or_step_down(client: httpx.AsyncClient, conn: Conn) -> None:
    org, owner, admin, member, _ = await _team(conn)
    base = f"{API}/organizations/{org.id}/members"
    leave = await client.delete(f"{base}/{owner.id}", headers=owner.headers)
    assert leave.status_code == 409
    demote = await client.patch(f"{base}/{owner.id}", json={"role": "admin"}, headers=owner.headers)
    assert demote.status_code == 409
    # With a second owner, the first may go.
    assert (await client.patch(f"{base}/{admin.id}", json={"role": "owner"}, headers=owner.headers)).status_code == 200
    assert (await client.delete(f"{base}/{owner.id}", headers=owner.headers)).status_code == 200
    # Members may always leave.
    assert (await client.delete(f"{base}/{member.id}", headers=member.headers)).status_code == 200
    await as_owner(conn)
    cur = await conn.execute(
        "select user_id, role from public.organization_members where organization_id = %s", (org.id,)
    )
    assert [(r["user_id"], r["role"]) for r in await cur.fetchall()] == [(admin.id, "owner")]


async def test_organization_categories(client: httpx.AsyncClient, conn: Conn) -> None:
    org, _owner, admin, member, outsider = await _team(conn)
    url = f"{API}/organizations/{org.id}/categories"
    assert (await client.post(url, json={"name": "Internal"}, headers=member.headers)).status_code == 403
    assert (await client.post(url, json={"name": "Internal"}, headers=outsider.headers)).status_code == 404
    created = await client.post(url, json={"name": "Internal Tools"}, headers=admin.headers)
    assert created.status_code == 201, created.text
    category = created.json()["data"]
    assert category["slug"] == "internal-tools" and category["organization_id"] == str(org.id)
    duplicate = await client.post(url, json={"name": "Again", "slug": "internal-tools"}, headers=admin.headers)
    assert duplicate.status_code == 409

    def ids(response: httpx.Response) -> set[str]:
        return {c["id"] for c in response.json()["data"]}

    if (await client.get(f"{API}/categories")).status_code == 200:  # issue 3's listing
        probe = await client.get(f"{API}/categories", headers=member.headers)
        assert category["id"] in ids(probe)
        assert category["id"] not in ids(await client.get(f"{API}/categories", headers=outsider.headers))
        assert category["id"] not in ids(await client.get(f"{API}/categories"))

    cat_url = f"{API}/categories/{category['id']}"
    assert (await client.patch(cat_url, json={"name": "X"}, headers=member.headers)).status_code == 403
    assert (await client.patch(cat_url, json={"name": "X"}, headers=outsider.headers)).status_code == 404
    renamed = await client.patch(cat_url, json={"name": "Tooling"}, headers=admin.headers)
    assert renamed.status_code == 200 and renamed.json()["data"]["name"] == "Tooling"
    assert (await client.delete(cat_url, headers=admin.headers)).status_code == 200
    assert (await client.patch(cat_url, json={"name": "Y"}, headers=admin.headers)).status_code == 404

    await as_owner(conn)
    cur = await conn.execute("select id from public.categories where organization_id is null limit 1")
    marketplace = await cur.fetchone()
    assert marketplace is not None
    response = await client.patch(
        f"{API}/categories/{marketplace['id']}", json={"name": "Hijack"}, headers=admin.headers
    )
    assert response.status_code == 403
