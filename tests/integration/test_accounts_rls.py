"""The RLS matrix for accounts: organizations, members, invitations, organization categories, roles,
bans and exports, read and written as the real roles with real claims (an organization owner, admin
and member, an outsider, the invited user, a platform admin, anon and service_role)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
import pytest

from shared.db import Conn
from tests.factories.accounts import Org, create_org, create_platform_user
from tests.factories.marketplace import create_gig
from tests.factories.users import TestUser, acting_as, as_owner, create_user


@dataclass
class World:
    org: Org
    other_org: Org
    owner: TestUser
    admin: TestUser
    member: TestUser
    outsider: TestUser
    invitee: TestUser
    platform_admin: TestUser
    invitation_id: uuid.UUID
    category_id: uuid.UUID

    def actor(self, name: str) -> TestUser | str:
        return name if name in ("anon", "service_role") else getattr(self, name)


@pytest.fixture
async def world(conn: Conn) -> World:
    owner, admin, member, outsider = [await create_user(conn) for _ in range(4)]
    invitee = await create_user(conn, email=f"inv-{uuid.uuid4().hex[:6]}@example.test")
    platform_admin = await create_platform_user(conn, "admin")
    org = await create_org(conn, owner, admins=(admin,), members=(member,))
    other_org = await create_org(conn, outsider)
    await as_owner(conn)
    cur = await conn.execute(
        "insert into public.invitations (organization_id, email, role) values (%s, %s, 'member') returning id",
        (org.id, invitee.email),
    )
    inv = await cur.fetchone()
    cur = await conn.execute(
        "insert into public.categories (organization_id, slug, name) values (%s, 'internal', 'Internal') returning id",
        (org.id,),
    )
    cat = await cur.fetchone()
    await conn.execute("insert into public.user_roles (user_id, role) values (%s, 'user')", (member.id,))
    await conn.execute("insert into public.user_bans (user_id, reason) values (%s, 'test')", (outsider.id,))
    await conn.execute(
        "insert into public.exports (created_by, path, format, expires_at) values (%s, 'x/y.csv', 'csv', now())",
        (platform_admin.id,),
    )
    assert inv is not None and cat is not None
    return World(org, other_org, owner, admin, member, outsider, invitee, platform_admin, inv["id"], cat["id"])


async def _visible(conn: Conn, world: World, who: str, sql: str, params: tuple[object, ...] = ()) -> int | str:
    try:
        async with acting_as(conn, world.actor(who)) as c:
            cur = await c.execute(f"select count(*) as n from ({sql}) as q", params)
            row = await cur.fetchone()
            assert row is not None
            return int(row["n"])
    except psycopg.errors.InsufficientPrivilege:
        return "denied"


ACTORS = ["owner", "admin", "member", "outsider", "invitee", "platform_admin", "anon", "service_role"]

# (what, sql with {org}/{inv}/{member}, expected count per actor in ACTORS order)
MATRIX: list[tuple[str, str, list[int | str]]] = [
    ("the organization", "select 1 from public.organizations where id = %(org)s", [1, 1, 1, 0, 0, 1, "denied", 1]),
    (
        "its members",
        "select 1 from public.organization_members where organization_id = %(org)s",
        [3, 3, 3, 0, 0, 3, "denied", 3],
    ),
    ("its invitation", "select 1 from public.invitations where id = %(inv)s", [1, 1, 0, 0, 1, 1, "denied", 1]),
    (
        "its own category",
        "select 1 from public.categories where organization_id = %(org)s",
        [1, 1, 1, 0, 0, 0, 0, 1],
    ),
    (
        "the marketplace taxonomy",
        "select 1 from public.categories where organization_id is null limit 1",
        [1, 1, 1, 1, 1, 1, 1, 1],
    ),
    (
        "the member's role row",
        "select 1 from public.user_roles where user_id = %(member)s",
        [0, 0, 1, 0, 0, 1, "denied", 1],
    ),
    ("ban reasons", "select 1 from public.user_bans", [0, 0, 0, 0, 0, 1, "denied", 1]),
    ("exports", "select 1 from public.exports", [0, 0, 0, 0, 0, 1, "denied", 1]),
]


@pytest.mark.parametrize(("what", "sql", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
async def test_who_sees_what(conn: Conn, world: World, what: str, sql: str, expected: list[int | str]) -> None:
    params = {"org": world.org.id, "inv": world.invitation_id, "member": world.member.id}
    seen = [await _visible(conn, world, who, sql % {k: f"'{v}'" for k, v in params.items()}) for who in ACTORS]
    assert dict(zip(ACTORS, seen, strict=True)) == dict(zip(ACTORS, expected, strict=True))


async def _write(conn: Conn, who: TestUser, sql: str, params: tuple[object, ...]) -> int | str:
    """Rows changed as api_user with the caller's claims, or the SQLSTATE that stopped it."""
    try:
        async with acting_as(conn, who, as_api_user=True) as c:
            cur = await c.execute(sql, params)
            return cur.rowcount
    except psycopg.Error as exc:
        return exc.sqlstate or "error"


async def test_organization_writes(conn: Conn, world: World) -> None:
    rename = "update public.organizations set name = 'Renamed' where id = %s"
    assert await _write(conn, world.outsider, rename, (world.org.id,)) == 0
    assert await _write(conn, world.member, rename, (world.org.id,)) == 0
    assert await _write(conn, world.admin, rename, (world.org.id,)) == 1
    delete = "delete from public.organizations where id = %s"
    assert await _write(conn, world.admin, delete, (world.org.id,)) == 0
    assert await _write(conn, world.owner, delete, (world.org.id,)) == 1
    # Creating as someone else is not possible: the creator is always the caller.
    new_id = uuid.uuid4()
    async with acting_as(conn, world.member, as_api_user=True) as c:
        await c.execute(
            "insert into public.organizations (id, name, slug) values (%s, 'Mine', %s)",
            (new_id, f"mine-{new_id.hex[:8]}"),
        )
        cur = await c.execute(
            "select created_by, private.org_role_of(id, %s) as role from public.organizations where id = %s",
            (world.member.id, new_id),
        )
        row = await cur.fetchone()
        assert row is not None and row["created_by"] == world.member.id and row["role"] == "owner"


async def test_member_writes_follow_the_hierarchy(conn: Conn, world: World) -> None:
    promote = "update public.organization_members set role = %s where organization_id = %s and user_id = %s"
    assert await _write(conn, world.member, promote, ("admin", world.org.id, world.member.id)) == 0
    assert await _write(conn, world.outsider, promote, ("admin", world.org.id, world.member.id)) == 0
    assert await _write(conn, world.admin, promote, ("admin", world.org.id, world.member.id)) == "UG403"
    assert await _write(conn, world.admin, promote, ("member", world.org.id, world.owner.id)) == "UG403"
    assert await _write(conn, world.owner, promote, ("admin", world.org.id, world.member.id)) == 1
    assert await _write(conn, world.owner, promote, ("member", world.org.id, world.owner.id)) == "UG409"
    remove = "delete from public.organization_members where organization_id = %s and user_id = %s"
    assert await _write(conn, world.outsider, remove, (world.org.id, world.member.id)) == 0
    assert await _write(conn, world.member, remove, (world.org.id, world.admin.id)) == 0
    assert await _write(conn, world.admin, remove, (world.org.id, world.owner.id)) == "UG403"
    assert await _write(conn, world.member, remove, (world.org.id, world.member.id)) == 1
    assert await _write(conn, world.owner, remove, (world.org.id, world.owner.id)) == "UG409"
    # Nobody adds themselves: members come from invitations.
    join = "insert into public.organization_members (organization_id, user_id, role) values (%s, %s, 'owner')"
    assert await _write(conn, world.outsider, join, (world.org.id, world.outsider.id)) == "42501"


async def test_invitation_and_category_writes(conn: Conn, world: World) -> None:
    invite = "insert into public.invitations (organization_id, email, role) values (%s, %s, 'member')"
    assert await _write(conn, world.member, invite, (world.org.id, "a@example.test")) == "42501"
    assert await _write(conn, world.outsider, invite, (world.org.id, "a@example.test")) == "42501"
    assert await _write(conn, world.admin, invite, (world.org.id, "a@example.test")) == 1
    # The invitee cannot mark their own invitation accepted behind the function's back.
    accept = "update public.invitations set status = 'accepted' where id = %s"
    assert await _write(conn, world.invitee, accept, (world.invitation_id,)) == 0
    assert await _write(conn, world.admin, accept, (world.invitation_id,)) == "42501"

    add = "insert into public.categories (organization_id, slug, name) values (%s, 'new-one', 'New')"
    assert await _write(conn, world.member, add, (world.org.id,)) == "42501"
    assert await _write(conn, world.admin, add, (world.org.id,)) == 1
    assert await _write(conn, world.admin, add.replace("%s", "null", 1), ()) == "42501"  # marketplace taxonomy
    rename = "update public.categories set name = 'Hijacked' where id = %s"
    assert await _write(conn, world.outsider, rename, (world.category_id,)) == 0
    assert await _write(conn, world.admin, rename, (world.category_id,)) == 1


async def test_roles_are_not_writable_through_the_api_roles(conn: Conn, world: World) -> None:
    grant = "insert into public.user_roles (user_id, role) values (%s, 'superadmin')"
    assert await _write(conn, world.member, grant, (world.member.id,)) == "42501"
    assert await _write(conn, world.platform_admin, grant, (world.member.id,)) == "42501"
    ban = "update public.user_bans set reason = 'x'"
    assert await _write(conn, world.platform_admin, ban, ()) == "42501"
    async with acting_as(conn, world.member) as c:  # the frontend's own role
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await c.execute("insert into public.organizations (name, slug) values ('x', 'xx')")


async def test_access_token_hook_reads_the_table_not_metadata(conn: Conn, world: World) -> None:
    await as_owner(conn)
    event = '{"user_id": "%s", "claims": {"sub": "%s", "user_metadata": {"user_role": "superadmin"}}}'
    cur = await conn.execute(
        "select public.custom_access_token_hook(%s::jsonb) -> 'claims' ->> 'user_role' as role",
        (event % (world.platform_admin.id, world.platform_admin.id),),
    )
    assert (await cur.fetchone()) == {"role": "admin"}
    cur = await conn.execute(
        "select public.custom_access_token_hook(%s::jsonb) -> 'claims' ->> 'user_role' as role",
        (event % (world.member.id, world.member.id),),
    )
    assert (await cur.fetchone()) == {"role": "user"}
    for role in ("anon", "authenticated", "api_user"):
        cur = await conn.execute(
            "select has_function_privilege(%s, 'public.custom_access_token_hook(jsonb)', 'execute') as ok", (role,)
        )
        assert (await cur.fetchone()) == {"ok": False}, role


async def test_organization_admins_manage_the_organizations_gigs(conn: Conn, world: World) -> None:
    gig = await create_gig(conn, world.member, organization_id=world.org.id, status="draft")
    retitle = "update public.gigs set title = 'A better title for this gig' where id = %s"
    assert await _write(conn, world.outsider, retitle, (gig,)) == 0
    assert await _write(conn, world.admin, retitle, (gig,)) == 1
    assert await _write(conn, world.owner, retitle, (gig,)) == 1
    # A plain co-member does not manage someone else's organization gig.
    other = await create_user(conn)
    await as_owner(conn)
    await conn.execute(
        "insert into public.organization_members (organization_id, user_id, role) values (%s, %s, 'member')",
        (world.org.id, other.id),
    )
    assert await _write(conn, other, retitle, (gig,)) == 0
    async with acting_as(conn, world.admin) as c:
        cur = await c.execute("select count(*) as n from public.gigs where id = %s", (gig,))
        assert (await cur.fetchone()) == {"n": 1}  # the draft is visible to its organization's admins
    await as_owner(conn)
    cur = await conn.execute(
        "select array_agg(id order by id) as ids from private.gig_manager_ids(%s) as m(id)", (gig,)
    )
    row = await cur.fetchone()
    assert row is not None
    assert sorted(row["ids"]) == sorted([world.member.id, world.owner.id, world.admin.id])
    # Posting for an organization needs membership.
    async with acting_as(conn, world.outsider, as_api_user=True) as c:
        cur = await c.execute("select private.can_post_for_organization(%s) as ok", (world.org.id,))
        assert (await cur.fetchone()) == {"ok": False}
    # The organization cannot be deleted from under its gigs.
    assert await _write(conn, world.owner, "delete from public.organizations where id = %s", (world.org.id,)) == "UG409"
