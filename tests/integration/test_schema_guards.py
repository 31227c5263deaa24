"""The whole schema obeys the rules every later table must keep; each guard is shown to bite."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from shared.db import Conn
from tests import guards

Guard = Callable[[Conn], Awaitable[list[str]]]

ALL_GUARDS: list[Guard] = [
    guards.tables_without_rls,
    guards.tables_writable_by_clients,
    guards.unsafe_security_definer_functions,
    guards.unindexed_foreign_keys,
    guards.policies_with_per_row_auth_calls,
    guards.multiple_permissive_policies,
    guards.always_true_write_policies,
    guards.policies_on_tables_without_rls,
    guards.security_definer_views,
]


@pytest.mark.parametrize("guard", ALL_GUARDS, ids=lambda g: g.__name__)
async def test_schema_passes_guard(conn: Conn, guard: Guard) -> None:
    assert await guard(conn) == []


# Each case: DDL that breaks exactly one rule, the guard, and what it must report.
BAD_OBJECTS: list[tuple[str, Guard, str]] = [
    (
        "create table public.guard_no_rls (id int primary key)",
        guards.tables_without_rls,
        "guard_no_rls",
    ),
    (
        "create table public.guard_writable (id int primary key);"
        " alter table public.guard_writable enable row level security;"
        " grant insert on public.guard_writable to anon",
        guards.tables_writable_by_clients,
        "guard_writable:anon:INSERT",
    ),
    (
        "create table public.guard_col_update (id int primary key, note text);"
        " alter table public.guard_col_update enable row level security;"
        " grant update (note) on public.guard_col_update to authenticated",
        guards.tables_writable_by_clients,
        "guard_col_update:authenticated:UPDATE",
    ),
    (
        "create function private.guard_definer() returns int language sql security definer as 'select 1'",
        guards.unsafe_security_definer_functions,
        "private.guard_definer()",
    ),
    (
        "create function public.guard_public_definer() returns int language sql security definer"
        " set search_path = '' as 'select 1'",
        guards.unsafe_security_definer_functions,
        "guard_public_definer()",
    ),
    (
        "create table public.guard_parent (id int primary key);"
        " create table public.guard_child (id int primary key, parent_id int references public.guard_parent);"
        " alter table public.guard_parent enable row level security;"
        " alter table public.guard_child enable row level security",
        guards.unindexed_foreign_keys,
        "guard_child.guard_child_parent_id_fkey",
    ),
    (
        "create table public.guard_pol (id int primary key, owner uuid);"
        " alter table public.guard_pol enable row level security;"
        " create policy guard_pol_read on public.guard_pol for select to authenticated using (owner = auth.uid())",
        guards.policies_with_per_row_auth_calls,
        "public.guard_pol:guard_pol_read",
    ),
    (
        "create table public.guard_multi (id int primary key);"
        " alter table public.guard_multi enable row level security;"
        " create policy a on public.guard_multi for select to anon using (true);"
        " create policy b on public.guard_multi for all to anon using (id > 0)",
        guards.multiple_permissive_policies,
        "public.guard_multi:anon:SELECT",
    ),
    (
        "create table public.guard_true (id int primary key);"
        " alter table public.guard_true enable row level security;"
        " create policy t on public.guard_true for delete to api_user using (true)",
        guards.always_true_write_policies,
        "public.guard_true:t",
    ),
    (
        "create table public.guard_off (id int primary key);"
        " create policy p on public.guard_off for select to anon using (true)",
        guards.policies_on_tables_without_rls,
        "guard_off",
    ),
    (
        "create view public.guard_view as select 1 as one",
        guards.security_definer_views,
        "guard_view",
    ),
]


@pytest.mark.parametrize(("ddl", "guard", "expected"), BAD_OBJECTS, ids=[c[2] for c in BAD_OBJECTS])
async def test_guard_catches_a_bad_object(conn: Conn, ddl: str, guard: Guard, expected: str) -> None:
    async with conn.transaction(force_rollback=True):
        for statement in ddl.split(";"):
            await conn.execute(statement)
        assert expected in await guard(conn)


async def test_new_public_tables_are_not_writable_by_clients_by_default(conn: Conn) -> None:
    # Supabase's default privileges grant ALL to anon/authenticated; the foundation revokes writes.
    async with conn.transaction(force_rollback=True):
        await conn.execute("create table public.guard_default (id int primary key)")
        await conn.execute("alter table public.guard_default enable row level security")
        assert await guards.tables_writable_by_clients(conn) == []
