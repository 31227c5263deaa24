"""Platform roles, organizations and memberships, set up as the owner role (like a migration would)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from shared.db import Conn
from tests.factories.users import TestUser, create_user

_seq = itertools.count(1)


async def _as_setup(conn: Conn) -> None:
    # The owner role and no caller: a request earlier in the test may have left its claims set, and
    # the organizations trigger would then take that caller as the creator.
    await conn.execute("select set_config('role', 'none', true), set_config('request.jwt.claims', '', true)")


async def create_platform_user(conn: Conn, role: str = "user", **kwargs: str) -> TestUser:
    """A user whose token carries `role` and whose user_roles row says the same."""
    user = await create_user(conn, platform_role=role, **kwargs)
    if role != "user":
        async with conn.transaction():
            await _as_setup(conn)
            await conn.execute("insert into public.user_roles (user_id, role) values (%s, %s)", (user.id, role))
    return user


@dataclass
class Org:
    id: uuid.UUID
    slug: str
    owner: TestUser


async def create_org(
    conn: Conn,
    owner: TestUser,
    *,
    admins: tuple[TestUser, ...] = (),
    members: tuple[TestUser, ...] = (),
    name: str | None = None,
) -> Org:
    n = next(_seq)
    slug = f"org-{n}-{uuid.uuid4().hex[:6]}"
    async with conn.transaction():
        await _as_setup(conn)
        cur = await conn.execute(
            "insert into public.organizations (name, slug, created_by) values (%s, %s, %s) returning id",
            (name or f"Org {n}", slug, owner.id),
        )
        row = await cur.fetchone()
        assert row is not None
        for role, people in (("admin", admins), ("member", members)):
            for person in people:
                await conn.execute(
                    "insert into public.organization_members (organization_id, user_id, role) values (%s, %s, %s)",
                    (row["id"], person.id, role),
                )
    return Org(id=row["id"], slug=slug, owner=owner)
