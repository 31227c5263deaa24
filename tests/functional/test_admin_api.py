"""Platform administration over HTTP: only admins get in (token AND table), the hierarchy rules
(nobody acts on themselves or an equal/higher role, only superadmins grant admin), search, filters,
sorting and paging, bans with reason and expiry, and organization management."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared.db import Conn, Database
from shared.web.rate_limit import ADMIN_USER_LIST, hit
from tests.factories.accounts import create_org, create_platform_user
from tests.factories.users import TestUser, as_owner, create_user

ADMIN = "/api/v1/admin"


def _err(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["error"]["code"]
    return code


async def test_only_platform_admins_get_in(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    assert _err(await client.get(f"{ADMIN}/users"), 401) == "UNAUTHORIZED"
    assert _err(await client.get(f"{ADMIN}/users", headers=user.headers), 403) == "FORBIDDEN"
    assert _err(await client.get(f"{ADMIN}/organizations", headers=user.headers), 403) == "FORBIDDEN"
    # A token claiming admin is not enough: the roles table must agree (e.g. after a demotion).
    forged = await create_user(conn, platform_role="admin")
    assert _err(await client.get(f"{ADMIN}/users", headers=forged.headers), 403) == "FORBIDDEN"
    admin = await create_platform_user(conn, "admin")
    assert (await client.get(f"{ADMIN}/users", headers=admin.headers)).status_code == 200
    await as_owner(conn)
    await conn.execute("update public.user_roles set role = 'user' where user_id = %s", (admin.id,))
    assert _err(await client.get(f"{ADMIN}/users", headers=admin.headers), 403) == "FORBIDDEN"


async def test_user_list_search_filters_sort_and_pages(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    tag = uuid.uuid4().hex[:6]
    people = [
        await create_user(conn, email=f"{name}-{tag}@example.test", full_name=f"{name.title()} {tag}")
        for name in ("carol", "alice", "bob")
    ]
    await as_owner(conn)
    await conn.execute("update auth.users set banned_until = now() + interval '1 day' where id = %s", (people[2].id,))
    await conn.execute("insert into public.user_roles (user_id, role) values (%s, 'admin')", (people[0].id,))

    response = await client.get(
        f"{ADMIN}/users",
        params={"search": tag, "sortBy": "email", "sortOrder": "asc", "limit": 2},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["total"] == 3 and data["hasMore"] is True
    assert [u["email"].split("-")[0] for u in data["items"]] == ["alice", "bob"]
    page2 = (
        await client.get(
            f"{ADMIN}/users",
            params={"search": tag, "sortBy": "email", "sortOrder": "asc", "limit": 2, "page": 2},
            headers=admin.headers,
        )
    ).json()["data"]
    assert [u["email"].split("-")[0] for u in page2["items"]] == ["carol"] and page2["hasMore"] is False

    by_name = (await client.get(f"{ADMIN}/users", params={"search": f"Alice {tag}"}, headers=admin.headers)).json()
    assert [u["id"] for u in by_name["data"]["items"]] == [str(people[1].id)]
    banned = (
        await client.get(f"{ADMIN}/users", params={"search": tag, "banned": "true"}, headers=admin.headers)
    ).json()
    assert [u["id"] for u in banned["data"]["items"]] == [str(people[2].id)]
    admins = (await client.get(f"{ADMIN}/users", params={"search": tag, "role": "admin"}, headers=admin.headers)).json()
    assert [u["id"] for u in admins["data"]["items"]] == [str(people[0].id)]
    # LIKE wildcards in the search are literal.
    assert (await client.get(f"{ADMIN}/users", params={"search": "%"}, headers=admin.headers)).json()["data"][
        "total"
    ] == 0


@pytest.mark.parametrize(
    "params", [{"sortBy": "password"}, {"limit": "0"}, {"limit": "101"}, {"role": "god"}, {"page": "0"}]
)
async def test_bad_list_queries_are_400(client: httpx.AsyncClient, conn: Conn, params: dict[str, str]) -> None:
    admin = await create_platform_user(conn, "admin")
    response = await client.get(f"{ADMIN}/users", params=params, headers=admin.headers)
    assert _err(response, 400) == "VALIDATION_ERROR"
    assert response.json()["error"]["fields"]


async def test_user_by_id_and_by_email_include_organizations(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    person = await create_user(conn)
    org = await create_org(conn, person)
    one = (await client.get(f"{ADMIN}/users/{person.id}", headers=admin.headers)).json()["data"]
    assert one["email"] == person.email
    assert one["organizations"] == [
        {"id": str(org.id), "name": one["organizations"][0]["name"], "slug": org.slug, "role": "owner"}
    ]
    by_email = await client.get(f"{ADMIN}/users/by-email/{person.email.upper()}", headers=admin.headers)
    assert by_email.json()["data"]["id"] == str(person.id)
    assert _err(await client.get(f"{ADMIN}/users/by-email/nobody@example.test", headers=admin.headers), 404)
    assert _err(await client.get(f"{ADMIN}/users/{uuid.uuid4()}", headers=admin.headers), 404)


async def test_hierarchy_admin(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    other_admin = await create_platform_user(conn, "admin")
    superadmin = await create_platform_user(conn, "superadmin")
    person = await create_user(conn)

    # Not on themselves, not on equals, not on higher roles.
    assert _err(await client.patch(f"{ADMIN}/users/{admin.id}", json={"full_name": "Me"}, headers=admin.headers), 403)
    assert _err(await client.delete(f"{ADMIN}/users/{admin.id}", headers=admin.headers), 403)
    for target in (other_admin, superadmin):
        assert _err(await client.patch(f"{ADMIN}/users/{target.id}", json={"banned": True}, headers=admin.headers), 403)
        assert _err(await client.delete(f"{ADMIN}/users/{target.id}", headers=admin.headers), 403)
    # Admins do not hand out admin roles, neither by update nor by creating users.
    assert _err(await client.patch(f"{ADMIN}/users/{person.id}", json={"role": "admin"}, headers=admin.headers), 403)
    for role in ("admin", "superadmin"):
        created = await client.post(
            f"{ADMIN}/users",
            json={"email": f"{role}-{uuid.uuid4().hex[:6]}@example.test", "full_name": "N", "role": role},
            headers=admin.headers,
        )
        assert _err(created, 403) == "FORBIDDEN"
    # But manage plain users.
    renamed = await client.patch(
        f"{ADMIN}/users/{person.id}", json={"full_name": "Renamed Person"}, headers=admin.headers
    )
    assert renamed.status_code == 200 and renamed.json()["data"]["full_name"] == "Renamed Person"

    await as_owner(conn)
    cur = await conn.execute("select role from public.user_roles where user_id = %s", (person.id,))
    assert await cur.fetchone() is None  # nothing was granted


async def test_hierarchy_superadmin(client: httpx.AsyncClient, conn: Conn) -> None:
    superadmin = await create_platform_user(conn, "superadmin")
    other_super = await create_platform_user(conn, "superadmin")
    admin = await create_platform_user(conn, "admin")
    person = await create_user(conn)
    granted = await client.patch(f"{ADMIN}/users/{person.id}", json={"role": "admin"}, headers=superadmin.headers)
    assert granted.status_code == 200 and granted.json()["data"]["role"] == "admin"
    demoted = await client.patch(f"{ADMIN}/users/{admin.id}", json={"role": "user"}, headers=superadmin.headers)
    assert demoted.json()["data"]["role"] == "user"
    assert _err(
        await client.patch(f"{ADMIN}/users/{other_super.id}", json={"role": "user"}, headers=superadmin.headers), 403
    )
    assert _err(
        await client.patch(f"{ADMIN}/users/{superadmin.id}", json={"role": "user"}, headers=superadmin.headers), 403
    )
    # The demoted admin's token still says admin; the table no longer does.
    assert _err(await client.get(f"{ADMIN}/users", headers=admin.headers), 403)


async def test_create_user_who_can_then_sign_in(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    email = f"made-{uuid.uuid4().hex[:6]}@example.test"
    created = await client.post(
        f"{ADMIN}/users",
        json={"email": email, "full_name": "Made By Admin", "password": "Strong-pass-123"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["role"] == "user"
    signin = await client.post(
        "/api/v1/auth/signin",
        json={"email": email, "password": "Strong-pass-123"},
        headers={"X-Forwarded-For": "192.0.2.44"},
    )
    assert signin.status_code == 200
    duplicate = await client.post(f"{ADMIN}/users", json={"email": email, "full_name": "Again"}, headers=admin.headers)
    assert _err(duplicate, 409) == "CONFLICT"
    weak = await client.post(
        f"{ADMIN}/users", json={"email": "w@example.test", "full_name": "W", "password": "weak"}, headers=admin.headers
    )
    assert "password" in weak.json()["error"]["fields"]


async def test_ban_with_reason_and_expiry_then_lift(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    person = await create_user(conn)
    url = f"{ADMIN}/users/{person.id}"
    bad = await client.patch(url, json={"ban_reason": "no ban flag"}, headers=admin.headers)
    assert _err(bad, 400) == "VALIDATION_ERROR"
    past = await client.patch(url, json={"banned": True, "ban_expires": "2001-01-01T00:00:00Z"}, headers=admin.headers)
    assert _err(past, 400) == "VALIDATION_ERROR"
    assert (await client.get("/api/v1/me/organizations", headers=person.headers)).status_code == 200
    banned = await client.patch(
        url, json={"banned": True, "ban_reason": "Spam", "ban_expires": "2099-01-01T00:00:00Z"}, headers=admin.headers
    )
    body = banned.json()["data"]
    assert body["banned"] is True and body["ban_reason"] == "Spam" and body["banned_until"].startswith("2099-01-01")
    assert _err(await client.get("/api/v1/me/organizations", headers=person.headers), 403) == "FORBIDDEN"
    lifted = await client.patch(url, json={"banned": False}, headers=admin.headers)
    assert lifted.json()["data"]["banned"] is False and lifted.json()["data"]["ban_reason"] is None
    assert (await client.get("/api/v1/me/organizations", headers=person.headers)).status_code == 200


async def test_delete_user(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    person = await create_user(conn)
    assert (await client.delete(f"{ADMIN}/users/{person.id}", headers=admin.headers)).status_code == 200
    assert _err(await client.get(f"{ADMIN}/users/{person.id}", headers=admin.headers), 404)
    assert _err(await client.get("/api/v1/me/organizations", headers=person.headers), 401)


async def test_admin_organizations(client: httpx.AsyncClient, conn: Conn) -> None:
    admin = await create_platform_user(conn, "admin")
    owner = await create_user(conn)
    tag = uuid.uuid4().hex[:6]
    created = await client.post(
        f"{ADMIN}/organizations",
        json={"name": f"Zeta {tag}", "owner_id": str(owner.id), "metadata": {"industry": "AI"}},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    org = created.json()["data"]
    assert org["created_by"] == str(owner.id) and org["member_count"] == 1
    mine = (await client.get("/api/v1/me/organizations", headers=owner.headers)).json()["data"]
    assert [(o["id"], o["role"]) for o in mine] == [(org["id"], "owner")]
    await create_org(conn, owner, name=f"Alpha {tag}")

    listed = (
        await client.get(
            f"{ADMIN}/organizations", params={"search": tag, "sort": "name", "sortOrder": "asc"}, headers=admin.headers
        )
    ).json()["data"]
    assert [o["name"] for o in listed["items"]] == [f"Alpha {tag}", f"Zeta {tag}"]

    url = f"{ADMIN}/organizations/{org['id']}"
    assert (await client.get(url, headers=admin.headers)).json()["data"]["metadata"] == {"industry": "AI"}
    taken = await client.post(f"{ADMIN}/organizations", json={"name": "X", "slug": org["slug"]}, headers=admin.headers)
    assert _err(taken, 409) == "CONFLICT"
    patched = await client.patch(url, json={"name": "Renamed"}, headers=admin.headers)
    assert patched.json()["data"]["name"] == "Renamed"
    assert (await client.delete(url, headers=admin.headers)).status_code == 200
    assert _err(await client.get(url, headers=admin.headers), 404)
    user = await create_user(conn)
    assert _err(await client.post(f"{ADMIN}/organizations", json={"name": "Nope"}, headers=user.headers), 403)


async def test_user_listing_is_limited_per_admin(client: httpx.AsyncClient, conn: Conn, db: Database) -> None:
    admin = await create_platform_user(conn, "admin")
    other = await create_platform_user(conn, "admin")
    first = await client.get(f"{ADMIN}/users", headers=admin.headers)
    assert first.headers["RateLimit-Limit"] == "100" and first.headers["RateLimit-Remaining"] == "99"
    for _ in range(99):  # the rest of this hour's allowance, as earlier requests would have used it
        await hit(db, ADMIN_USER_LIST, f"user:{admin.id}")
    refused = await client.get(f"{ADMIN}/users", headers=admin.headers)
    assert _err(refused, 429) == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) <= 3600
    assert (await client.get(f"{ADMIN}/users", headers=other.headers)).status_code == 200
    # Other admin routes are not in this group.
    assert (await client.get(f"{ADMIN}/organizations", headers=admin.headers)).status_code == 200
