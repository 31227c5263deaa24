"""Account deletion and organization owners in the database itself: a direct service_role delete obeys
the same rule as the admin console, the admin console's pre-check changes nothing, and under real
concurrency (separate connections, committed data) two owners leaving at once never both get out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
import pytest

from shared.db import Conn
from tests.conftest import connect
from tests.factories.accounts import Org, create_org
from tests.factories.marketplace import create_gig
from tests.factories.users import TestUser, acting_as, as_owner, create_user


async def _owners(conn: Conn, org: Org) -> list[uuid.UUID]:
    cur = await conn.execute(
        "select user_id from public.organization_members where organization_id = %s and role = 'owner'", (org.id,)
    )
    return [r["user_id"] for r in await cur.fetchall()]


async def _exists(conn: Conn, table: str, row_id: uuid.UUID) -> bool:
    cur = await conn.execute(f"select exists (select 1 from {table} where id = %s) as e", (row_id,))
    row = await cur.fetchone()
    return bool(row and row["e"])


async def _add_owner(conn: Conn, org: Org, user: TestUser) -> None:
    async with conn.transaction():
        await as_owner(conn)
        await conn.execute(
            "insert into public.organization_members (organization_id, user_id, role) values (%s, %s, 'owner')",
            (org.id, user.id),
        )


async def test_a_direct_service_role_delete_obeys_the_rule(conn: Conn) -> None:
    owner, member = await create_user(conn), await create_user(conn)
    name = f"Direct {uuid.uuid4().hex[:4]}"
    team = await create_org(conn, owner, members=(member,), name=name)
    solo = await create_org(conn, member)
    gig = await create_gig(conn, member, organization_id=solo.id)

    async with acting_as(conn, "service_role"):
        with pytest.raises(psycopg.Error) as refused:
            await conn.execute("delete from auth.users where id = %s", (owner.id,))
    assert refused.value.sqlstate == "UG409"
    assert refused.value.diag.message_primary is not None and name in refused.value.diag.message_primary
    await as_owner(conn)
    assert await _exists(conn, "auth.users", owner.id) and await _owners(conn, team) == [owner.id]

    # member: a plain member of `team`, the only member of `solo` (with a gig posted there).
    async with acting_as(conn, "service_role"):
        await conn.execute("delete from auth.users where id = %s", (member.id,))
        assert not await _exists(conn, "public.organizations", solo.id)
        assert not await _exists(conn, "public.gigs", gig)
        assert await _exists(conn, "public.organizations", team.id)
        assert await _owners(conn, team) == [owner.id]


async def test_the_pre_check_names_the_closing_organizations_and_changes_nothing(conn: Conn) -> None:
    owner, member = await create_user(conn), await create_user(conn)
    solo, other_solo = await create_org(conn, owner), await create_org(conn, owner)
    team = await create_org(conn, member, members=(owner,))
    async with acting_as(conn, "service_role"):
        cur = await conn.execute("select private.organizations_closing_with(%s) as id", (owner.id,))
        assert sorted(r["id"] for r in await cur.fetchall()) == sorted([solo.id, other_solo.id])
        for org in (solo, other_solo, team):
            assert await _exists(conn, "public.organizations", org.id)
    # Only the trusted side may ask: for an API caller it would reveal other people's organizations.
    for who in (member, "anon"):
        async with acting_as(conn, who, as_api_user=True):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await conn.execute("select private.organizations_closing_with(%s)", (owner.id,))


# ------------------------------------------------------------------------------- concurrency


@pytest.fixture
async def second_conns(module_db_url: str) -> AsyncIterator[tuple[Conn, Conn]]:
    first, second = await connect(module_db_url), await connect(module_db_url)
    yield first, second
    await first.close()
    await second.close()


async def _pid(conn: Conn) -> int:
    cur = await conn.execute("select pg_backend_pid() as pid")
    row = await cur.fetchone()
    assert row is not None
    return int(row["pid"])


async def _wait_until_blocked(observer: Conn, pid: int) -> None:
    # Polls the server's own view of the session, not the clock: done when it waits on a lock.
    for _ in range(500):
        cur = await observer.execute("select wait_event_type from pg_stat_activity where pid = %s", (pid,))
        row = await cur.fetchone()
        if row and row["wait_event_type"] == "Lock":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second transaction never waited for the first")


def _delete_account(user: TestUser) -> Callable[[Conn], Awaitable[Any]]:
    async def run(conn: Conn) -> Any:
        await conn.execute("select set_config('role', 'service_role', true)")
        return await conn.execute("delete from auth.users where id = %s", (user.id,))

    return run


def _step_down(org: Org, user: TestUser) -> Callable[[Conn], Awaitable[Any]]:
    async def run(conn: Conn) -> Any:
        # As the API would: api_user with the owner's own claims.
        await conn.execute(
            "select set_config('role', 'api_user', true), set_config('request.jwt.claims', %s, true)",
            (json.dumps(user.claims),),
        )
        return await conn.execute(
            "update public.organization_members set role = 'admin' where organization_id = %s and user_id = %s",
            (org.id, user.id),
        )

    return run


async def _race(
    observer: Conn,
    conns: tuple[Conn, Conn],
    first: Callable[[Conn], Awaitable[Any]],
    second: Callable[[Conn], Awaitable[Any]],
) -> psycopg.Error:
    """`first` runs and holds its transaction open; `second` starts and must wait for it; `first`
    commits; returns the error `second` gets (it must get one)."""
    a, b = conns
    await a.execute("begin")
    await first(a)
    await b.execute("begin")
    pid = await _pid(b)
    task = asyncio.create_task(second(b))
    await _wait_until_blocked(observer, pid)
    await a.execute("commit")
    with pytest.raises(psycopg.Error) as refused:
        await task
    await b.execute("rollback")
    return refused.value


async def test_two_owners_deleting_their_accounts_at_once_leave_one_owner(
    module_conn: Conn, second_conns: tuple[Conn, Conn]
) -> None:
    one, two, member = await create_user(module_conn), await create_user(module_conn), await create_user(module_conn)
    org = await create_org(module_conn, one, members=(member,))
    await _add_owner(module_conn, org, two)

    error = await _race(module_conn, second_conns, _delete_account(one), _delete_account(two))

    assert error.sqlstate == "UG409"
    assert not await _exists(module_conn, "auth.users", one.id)
    assert await _exists(module_conn, "auth.users", two.id)
    assert await _owners(module_conn, org) == [two.id]


@pytest.mark.parametrize("deletion_first", [True, False], ids=["deletion-first", "step-down-first"])
async def test_an_owner_stepping_down_while_the_other_deletes_the_account(
    module_conn: Conn, second_conns: tuple[Conn, Conn], deletion_first: bool
) -> None:
    leaving, stepping, member = [await create_user(module_conn) for _ in range(3)]
    org = await create_org(module_conn, leaving, members=(member,))
    await _add_owner(module_conn, org, stepping)
    deletion, step_down = _delete_account(leaving), _step_down(org, stepping)

    if deletion_first:
        error = await _race(module_conn, second_conns, deletion, step_down)
        assert await _owners(module_conn, org) == [stepping.id]
        assert not await _exists(module_conn, "auth.users", leaving.id)
    else:
        error = await _race(module_conn, second_conns, step_down, deletion)
        assert await _owners(module_conn, org) == [leaving.id]
        assert await _exists(module_conn, "auth.users", leaving.id)
    assert error.sqlstate == "UG409"
