"""Profiles: public read by username, the owner's own profile and its changes."""

from __future__ import annotations

from uuid import UUID

import psycopg
from psycopg import sql

from shared.db import Conn
from shared.errors import Conflict, NotFound
from shared.models.profiles import Profile, ProfileUpdate

PROFILE_COLUMNS = (
    "id, username, full_name, avatar_url, bio, skills, ai_tools, hourly_rate, portfolio_urls, location, timezone,"
    " is_available, profile_completed, rating_average, rating_count, created_at, updated_at"
)


async def get_by_username(conn: Conn, username: str) -> Profile:
    cur = await conn.execute(
        f"select {PROFILE_COLUMNS} from public.profiles where username = %s", (username.strip().lower(),)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Profile not found")
    return Profile.model_validate(row)


async def get_by_id(conn: Conn, user_id: UUID) -> Profile:
    cur = await conn.execute(f"select {PROFILE_COLUMNS} from public.profiles where id = %s", (user_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Profile not found")
    return Profile.model_validate(row)


async def update_profile(conn: Conn, user_id: UUID, data: ProfileUpdate) -> Profile:
    values = data.model_dump(exclude_unset=True)
    if not values:
        return await get_by_id(conn, user_id)
    statement = sql.SQL("update public.profiles set {} where id = %(id)s returning id").format(
        sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c)) for c in values)
    )
    try:
        cur = await conn.execute(statement, {**values, "id": user_id})
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict("This username is taken") from exc
    if await cur.fetchone() is None:
        raise NotFound("Profile not found")
    return await get_by_id(conn, user_id)


async def set_availability(conn: Conn, user_id: UUID, is_available: bool) -> Profile:
    return await update_profile(conn, user_id, ProfileUpdate(is_available=is_available))


async def set_avatar_url(conn: Conn, user_id: UUID, url: str) -> str | None:
    """Points the profile at its new avatar; returns the previous URL (its object is deleted after commit)."""
    cur = await conn.execute(
        "with old as (select avatar_url from public.profiles where id = %(id)s for update)"
        " update public.profiles p set avatar_url = %(url)s from old where p.id = %(id)s returning old.avatar_url",
        {"id": user_id, "url": url},
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Profile not found")
    old: str | None = row["avatar_url"]
    return old
