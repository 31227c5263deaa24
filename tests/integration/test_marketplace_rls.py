"""Who sees which marketplace rows when acting exactly as PostgREST would (role + JWT claims), and
that no direct write works as anon or authenticated; api_user writes only what its policies allow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import pytest

from shared.db import Conn
from tests.factories.marketplace import create_application, create_gig
from tests.factories.users import TestUser, acting_as, as_owner, create_user


@dataclass
class World:
    poster: TestUser
    applicant: TestUser
    stranger: TestUser
    gigs: dict[str, UUID]
    application: UUID


@pytest.fixture
async def world(conn: Conn) -> World:
    poster, applicant, stranger = [await create_user(conn) for _ in range(3)]
    gigs = {status: await create_gig(conn, poster, status=status) for status in ("active", "draft", "paused", "closed")}
    gigs["filled"] = await create_gig(conn, poster, status="filled")
    application = await create_application(conn, gigs["active"], applicant)
    await as_owner(conn)
    await conn.execute(
        "insert into public.saved_gigs (user_id, gig_id) values (%s, %s), (%s, %s)",
        (applicant.id, gigs["active"], stranger.id, gigs["closed"]),
    )
    # The shortlist notifies the applicant; the application notified the poster.
    await conn.execute("update public.applications set status = 'shortlisted' where id = %s", (application,))
    return World(poster, applicant, stranger, gigs, application)


def actor(world: World, name: str) -> TestUser | str:
    return {"poster": world.poster, "applicant": world.applicant, "stranger": world.stranger}.get(name, name)


async def visible(conn: Conn, who: TestUser | str, sql: str) -> set[Any] | str:
    """The rows `who` can select, or 'denied' when the role has no SELECT at all."""
    try:
        async with acting_as(conn, who) as c:
            cur = await c.execute(sql)
            return {next(iter(r.values())) for r in await cur.fetchall()}
    except psycopg.errors.InsufficientPrivilege:
        return "denied"


ACTORS = ["anon", "poster", "applicant", "stranger", "service_role"]


async def test_profiles_are_public(conn: Conn, world: World) -> None:
    users = {world.poster.id, world.applicant.id, world.stranger.id}
    for name in ACTORS:
        rows = await visible(conn, actor(world, name), "select id from public.profiles")
        assert isinstance(rows, set) and users <= rows, name


async def test_gigs_matrix(conn: Conn, world: World) -> None:
    g = world.gigs
    public = {g["active"], g["closed"], g["filled"]}
    expected = {
        "anon": public,
        "poster": set(g.values()),
        "applicant": public,
        "stranger": public,
        "service_role": set(g.values()),
    }
    for name, rows in expected.items():
        assert await visible(conn, actor(world, name), "select id from public.gigs") == rows, name


async def test_saved_gigs_matrix(conn: Conn, world: World) -> None:
    g = world.gigs
    expected: dict[str, set[Any] | str] = {
        "anon": "denied",
        "poster": set(),
        "applicant": {g["active"]},
        "stranger": {g["closed"]},
        "service_role": {g["active"], g["closed"]},
    }
    for name, rows in expected.items():
        assert await visible(conn, actor(world, name), "select gig_id from public.saved_gigs") == rows, name


async def test_applications_matrix(conn: Conn, world: World) -> None:
    expected: dict[str, set[Any] | str] = {
        "anon": "denied",
        "poster": {world.application},  # manages the gig
        "applicant": {world.application},  # owns the application
        "stranger": set(),
        "service_role": {world.application},
    }
    for name, rows in expected.items():
        assert await visible(conn, actor(world, name), "select id from public.applications") == rows, name


async def test_notifications_matrix(conn: Conn, world: World) -> None:
    sql = "select type from public.notifications"
    assert await visible(conn, "anon", sql) == "denied"
    assert await visible(conn, world.poster, sql) == {"new_application"}
    assert await visible(conn, world.applicant, sql) == {"application_status"}
    assert await visible(conn, world.stranger, sql) == set()
    assert await visible(conn, "service_role", sql) == {"new_application", "application_status"}


def _writes(world: World) -> list[tuple[str, tuple[Any, ...]]]:
    g, p, a = world.gigs, world.poster.id, world.applicant.id
    return [
        ("update public.profiles set bio = 'x' where id = %s", (p,)),
        ("delete from public.profiles where id = %s", (p,)),
        ("insert into public.profiles (id, username) values (gen_random_uuid(), 'sneaky')", ()),
        (
            "insert into public.gigs (poster_id, title, description, category, budget_type)"
            " values (%s, 'A direct gig', 'Inserted straight through the API roles.', 'design', 'fixed')",
            (p,),
        ),
        ("update public.gigs set title = 'Changed directly' where id = %s", (g["active"],)),
        ("delete from public.gigs where id = %s", (g["active"],)),
        ("insert into public.saved_gigs (user_id, gig_id) values (%s, %s)", (p, g["active"])),
        ("delete from public.saved_gigs where user_id = %s", (a,)),
        (
            "insert into public.applications (gig_id, applicant_id, cover_letter)"
            " values (%s, %s, 'Directly inserted application text')",
            (g["active"], p),
        ),
        ("update public.applications set status = 'accepted' where id = %s", (world.application,)),
        ("delete from public.applications where id = %s", (world.application,)),
        ("insert into public.notifications (user_id, type, title) values (%s, 'gig_update', 'x')", (p,)),
        ("update public.notifications set read_at = now()", ()),
        ("delete from public.notifications", ()),
        ("insert into public.categories (slug, name) values ('sneaky', 'Sneaky')", ()),
        ("update public.categories set name = 'x'", ()),
    ]


@pytest.mark.parametrize("who", ["anon", "poster", "applicant"])
async def test_no_direct_writes_as_anon_or_authenticated(conn: Conn, world: World, who: str) -> None:
    for sql, params in _writes(world):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            async with acting_as(conn, actor(world, who)) as c:
                await c.execute(sql, params)


async def _api_user_rowcount(conn: Conn, who: TestUser, sql: str, params: tuple[Any, ...]) -> int:
    async with acting_as(conn, who, as_api_user=True) as c:
        cur = await c.execute(sql, params)
        return cur.rowcount


async def test_api_user_changes_only_what_its_policies_allow(conn: Conn, world: World) -> None:
    g, poster, applicant = world.gigs, world.poster, world.applicant
    fresh_gig = await create_gig(conn, poster)
    # Someone else's profile and gig: no row matches.
    assert (
        await _api_user_rowcount(conn, applicant, "update public.profiles set bio = 'x' where id = %s", (poster.id,))
        == 0
    )
    assert (
        await _api_user_rowcount(
            conn, applicant, "update public.gigs set title = 'Hijacked gig' where id = %s", (g["active"],)
        )
        == 0
    )
    assert await _api_user_rowcount(conn, applicant, "delete from public.gigs where id = %s", (g["active"],)) == 0
    assert (
        await _api_user_rowcount(conn, poster, "delete from public.saved_gigs where user_id = %s", (applicant.id,)) == 0
    )
    # Own rows: allowed.
    assert (
        await _api_user_rowcount(conn, poster, "update public.profiles set bio = 'Mine' where id = %s", (poster.id,))
        == 1
    )
    assert (
        await _api_user_rowcount(
            conn, poster, "update public.gigs set title = 'Renamed gig' where id = %s", (g["draft"],)
        )
        == 1
    )
    # Rows on someone else's behalf, or of a gig the caller cannot see: refused by the policies.
    for who, sql, params in (
        (
            applicant,
            "insert into public.gigs (poster_id, title, description, category, budget_type)"
            " values (%s, 'Posted for someone', 'Posting a gig in another user''s name.', 'design', 'fixed')",
            (poster.id,),
        ),
        (
            poster,
            "insert into public.applications (gig_id, applicant_id, cover_letter)"
            " values (%s, %s, 'Applying in someone else''s name')",
            (fresh_gig, world.stranger.id),
        ),
        (applicant, "insert into public.saved_gigs (user_id, gig_id) values (%s, %s)", (poster.id, g["active"])),
        (applicant, "insert into public.saved_gigs (user_id, gig_id) values (%s, %s)", (applicant.id, g["draft"])),
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await _api_user_rowcount(conn, who, sql, params)
    # Columns the database owns: counters, computed and rating fields, publication time.
    for sql in (
        "update public.gigs set applications_count = 99 where id = %s",
        "update public.gigs set views_count = 99 where id = %s",
        "update public.gigs set published_at = now() where id = %s",
        "update public.gigs set poster_id = poster_id where id = %s",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await _api_user_rowcount(conn, poster, sql, (g["active"],))
    for sql in (
        "update public.profiles set rating_average = 5 where id = %s",
        "update public.profiles set rating_count = 9 where id = %s",
        "update public.profiles set profile_completed = true where id = %s",
    ):
        with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.GeneratedAlways)):
            await _api_user_rowcount(conn, poster, sql, (poster.id,))
    # The applicant may not move their own application forward, the poster may not withdraw it.
    with pytest.raises(psycopg.DatabaseError) as refused:
        await _api_user_rowcount(
            conn, applicant, "update public.applications set status = 'accepted' where id = %s", (world.application,)
        )
    assert refused.value.sqlstate == "UG403"
    with pytest.raises(psycopg.DatabaseError) as refused:
        await _api_user_rowcount(
            conn, poster, "update public.applications set status = 'withdrawn' where id = %s", (world.application,)
        )
    assert refused.value.sqlstate == "UG403"
