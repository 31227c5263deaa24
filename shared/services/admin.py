"""Platform administration. Crosses users, so it runs as service_role (db.service_tx) and checks the
caller itself: the token must say admin AND the roles table must still say so (a demoted admin's
unexpired token is worthless), and the caller's session must be alive. Hierarchy: nobody acts on
themselves or on an equal or higher role; only a superadmin grants admin or superadmin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from shared.auth.principal import Principal
from shared.db import Conn, Database, to_json
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.models.admin import (
    ROLE_RANK,
    AdminOrganization,
    AdminOrganizationCreate,
    AdminUser,
    AdminUserCreate,
    AdminUserUpdate,
    UserSort,
)
from shared.models.organizations import OrganizationUpdate, slugify
from shared.providers.auth_backend import NewUser, get_auth_backend
from shared.services.organizations import insert_organization, update_organization_row
from shared.web.envelope import Page, page_of

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)

_USER_SELECT = """
select u.id, u.email, coalesce(p.full_name, u.raw_user_meta_data ->> 'full_name') as full_name,
       coalesce(p.username, u.raw_user_meta_data ->> 'username') as username,
       coalesce(r.role, 'user') as role, u.email_confirmed_at, u.created_at, u.last_sign_in_at,
       (u.banned_until is not null and u.banned_until > now()) as banned,
       case when u.banned_until > now() then u.banned_until end as banned_until,
       case when u.banned_until > now() then b.reason end as ban_reason,
       coalesce((select jsonb_agg(jsonb_build_object('id', o.id, 'name', o.name, 'slug', o.slug, 'role', m.role)
                                  order by o.name)
                 from public.organization_members m join public.organizations o on o.id = m.organization_id
                 where m.user_id = u.id), '[]'::jsonb) as organizations
from auth.users u
left join public.profiles p on p.id = u.id
left join public.user_roles r on r.user_id = u.id
left join public.user_bans b on b.user_id = u.id
where u.deleted_at is null
"""

_SORT_SQL: dict[str, str] = {
    "name": "lower(coalesce(p.full_name, u.raw_user_meta_data ->> 'full_name'))",
    "email": "lower(u.email)",
    "created_at": "u.created_at",
    "last_sign_in_at": "u.last_sign_in_at",
}


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def user_filters(
    *,
    search: str | None = None,
    role: str | None = None,
    banned: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> tuple[str, list[Any]]:
    """SQL appended to _USER_SELECT's where clause, and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    if search:
        # auth.users cannot take our indexes on a hosted project; admin listing is rate limited and
        # paged, and a seq scan over users is fine at this product's scale.
        where.append(
            "(u.email ilike %s or coalesce(p.full_name, u.raw_user_meta_data ->> 'full_name') ilike %s"
            " or p.username ilike %s)"
        )
        params += [_like(search)] * 3
    if role:
        where.append("coalesce(r.role, 'user') = %s")
        params.append(role)
    if banned is not None:
        where.append("(u.banned_until is not null and u.banned_until > now()) = %s")
        params.append(banned)
    if created_from is not None:
        where.append("u.created_at >= %s")
        params.append(created_from)
    if created_to is not None:
        where.append("u.created_at < %s")
        params.append(created_to)
    return "".join(f" and {w}" for w in where), params


async def require_admin(conn: Conn, principal: Principal) -> int:
    """The caller's effective rank (1 admin, 2 superadmin): the lower of token and table."""
    if not principal.is_admin:
        raise Forbidden("Administrators only")
    cur = await conn.execute(
        "select private.platform_role_of(%s) as role, private.auth_session_state(%s, %s) as state",
        (principal.user_id, principal.session_id, principal.user_id),
    )
    row = await cur.fetchone()
    assert row is not None
    if row["state"] == "banned":
        raise Forbidden("This account is suspended")
    if row["state"] != "ok":
        raise Unauthorized("The session has ended; sign in again")
    rank = min(ROLE_RANK[row["role"]], ROLE_RANK[principal.platform_role])
    if rank < 1:
        raise Forbidden("Administrators only")
    return rank


def _check_grant(rank: int, role: str) -> None:
    if ROLE_RANK[role] >= 1 and rank < 2:
        raise Forbidden("Only a superadmin can grant admin roles")


async def _user(conn: Conn, user_id: UUID) -> AdminUser:
    cur = await conn.execute(_USER_SELECT + " and u.id = %s", (user_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("User not found")
    return AdminUser.model_validate(row)


async def _target(conn: Conn, principal: Principal, rank: int, user_id: UUID) -> AdminUser:
    target = await _user(conn, user_id)
    if target.id == principal.user_id:
        raise Forbidden("You cannot change your own account here")
    if ROLE_RANK[target.role] >= rank:
        raise Forbidden("You cannot act on a user with an equal or higher role")
    return target


async def list_users(
    db: Database,
    principal: Principal,
    *,
    page: int,
    limit: int,
    search: str | None,
    role: str | None,
    banned: bool | None,
    sort_by: UserSort,
    sort_order: Literal["asc", "desc"],
) -> Page[AdminUser]:
    filters, params = user_filters(search=search, role=role, banned=banned)
    direction = "asc" if sort_order == "asc" else "desc"
    order = f"{_SORT_SQL[sort_by]} {direction} nulls last, u.id {direction}"
    async with db.service_tx() as conn:
        await require_admin(conn, principal)
        cur = await conn.execute(
            f"select count(*) as n from auth.users u left join public.profiles p on p.id = u.id"
            f" left join public.user_roles r on r.user_id = u.id where u.deleted_at is null{filters}",
            params,
        )
        count = await cur.fetchone()
        cur = await conn.execute(
            _USER_SELECT + filters + f" order by {order} limit %s offset %s", [*params, limit, (page - 1) * limit]
        )
        rows = await cur.fetchall()
    total = int(count["n"]) if count else 0
    return page_of([AdminUser.model_validate(r) for r in rows], total=total, page=page, limit=limit)


async def get_user(db: Database, principal: Principal, user_id: UUID) -> AdminUser:
    async with db.service_tx() as conn:
        await require_admin(conn, principal)
        return await _user(conn, user_id)


async def get_user_by_email(db: Database, principal: Principal, email: str) -> AdminUser:
    async with db.service_tx() as conn:
        await require_admin(conn, principal)
        cur = await conn.execute(_USER_SELECT + " and lower(u.email) = lower(%s)", (email.strip(),))
        row = await cur.fetchone()
    if row is None:
        raise NotFound("User not found")
    return AdminUser.model_validate(row)


async def _set_role(conn: Conn, user_id: UUID, role: str, granted_by: UUID) -> None:
    await conn.execute(
        "insert into public.user_roles (user_id, role, granted_by) values (%s, %s, %s)"
        " on conflict (user_id) do update set role = excluded.role, granted_by = excluded.granted_by",
        (user_id, role, granted_by),
    )


async def create_user(db: Database, principal: Principal, body: AdminUserCreate) -> AdminUser:
    async with db.service_tx() as conn:
        rank = await require_admin(conn, principal)
        _check_grant(rank, body.role)
    backend = get_auth_backend(db)
    user_id = await backend.admin_create_user(
        NewUser(body.email, body.password, body.username, body.full_name, body.email_confirmed)
    )
    async with db.service_tx() as conn:
        if body.role != "user":
            await _set_role(conn, user_id, body.role, principal.user_id)
        return await _user(conn, user_id)


async def update_user(db: Database, principal: Principal, user_id: UUID, body: AdminUserUpdate) -> AdminUser:
    async with db.service_tx() as conn:
        rank = await require_admin(conn, principal)
        await _target(conn, principal, rank, user_id)
        if body.role is not None:
            _check_grant(rank, body.role)
    backend = get_auth_backend(db)
    if body.full_name is not None or body.banned is not None:
        banned_until: Any = (body.ban_expires or FOREVER) if body.banned else None
        if body.banned is None:
            await backend.admin_update_user(user_id, full_name=body.full_name)
        else:
            await backend.admin_update_user(user_id, full_name=body.full_name, banned_until=banned_until)
    async with db.service_tx() as conn:
        if body.role is not None:
            await _set_role(conn, user_id, body.role, principal.user_id)
        if body.full_name is not None:
            await conn.execute("update public.profiles set full_name = %s where id = %s", (body.full_name, user_id))
        if body.banned:
            await conn.execute(
                "insert into public.user_bans (user_id, reason, banned_by, banned_until) values (%s, %s, %s, %s)"
                " on conflict (user_id) do update set reason = excluded.reason, banned_by = excluded.banned_by,"
                " banned_until = excluded.banned_until, created_at = now()",
                (user_id, body.ban_reason, principal.user_id, body.ban_expires or FOREVER),
            )
        elif body.banned is False:
            await conn.execute("delete from public.user_bans where user_id = %s", (user_id,))
        return await _user(conn, user_id)


async def delete_user(db: Database, principal: Principal, user_id: UUID) -> None:
    async with db.service_tx() as conn:
        rank = await require_admin(conn, principal)
        await _target(conn, principal, rank, user_id)
        # The database refuses to delete the only owner of an organization with other members; asked
        # first so the answer names the organization (GoTrue reports a refusing trigger as a bare error).
        await conn.execute("select count(*) from private.organizations_closing_with(%s)", (user_id,))
    await get_auth_backend(db).admin_delete_user(user_id)


# ---------------------------------------------------------------------- organizations

_ORG_SELECT = """
select o.id, o.name, o.slug, o.logo_url, o.metadata, o.created_by, o.created_at, o.updated_at,
       (select count(*) from public.organization_members m where m.organization_id = o.id)::int as member_count
from public.organizations o
"""
_ORG_SORT = {"name": "lower(o.name)", "created_at": "o.created_at", "updated_at": "o.updated_at"}


async def list_organizations(
    db: Database,
    principal: Principal,
    *,
    page: int,
    limit: int,
    search: str | None,
    sort: str,
    sort_order: Literal["asc", "desc"],
) -> Page[AdminOrganization]:
    where, params = "", []
    if search:
        where = " where o.name ilike %s or o.slug ilike %s"
        params = [_like(search)] * 2
    direction = "asc" if sort_order == "asc" else "desc"
    async with db.service_tx() as conn:
        await require_admin(conn, principal)
        cur = await conn.execute("select count(*) as n from public.organizations o" + where, params)
        count = await cur.fetchone()
        cur = await conn.execute(
            _ORG_SELECT + where + f" order by {_ORG_SORT[sort]} {direction}, o.id limit %s offset %s",
            [*params, limit, (page - 1) * limit],
        )
        rows = await cur.fetchall()
    total = int(count["n"]) if count else 0
    return page_of([AdminOrganization.model_validate(r) for r in rows], total=total, page=page, limit=limit)


async def _org(conn: Conn, organization_id: UUID) -> AdminOrganization:
    cur = await conn.execute(_ORG_SELECT + " where o.id = %s", (organization_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Organization not found")
    return AdminOrganization.model_validate(row)


async def get_organization(db: Database, principal: Principal, organization_id: UUID) -> AdminOrganization:
    async with db.service_tx() as conn:
        await require_admin(conn, principal)
        return await _org(conn, organization_id)


async def create_organization(db: Database, principal: Principal, body: AdminOrganizationCreate) -> AdminOrganization:
    async with db.service_tx() as conn:
        await require_admin(conn, principal)
        owner = body.owner_id or principal.user_id
        cur = await conn.execute("select 1 from auth.users where id = %s and deleted_at is null", (owner,))
        if await cur.fetchone() is None:
            raise NotFound("The owner does not exist")
        organization_id = await insert_organization(
            conn,
            {
                "name": body.name.strip(),
                "slug": body.slug or slugify(body.name),
                "logo_url": body.logo_url,
                "metadata": to_json(body.metadata or {}),
                "created_by": owner,
            },
        )
        return await _org(conn, organization_id)


async def update_organization(
    db: Database, principal: Principal, organization_id: UUID, body: OrganizationUpdate
) -> AdminOrganization:
    values = body.model_dump(exclude_unset=True)
    if "metadata" in values:
        values["metadata"] = to_json(values["metadata"] or {})
    async with db.service_tx() as conn:
        await require_admin(conn, principal)
        await _org(conn, organization_id)
        await update_organization_row(conn, organization_id, values)
        return await _org(conn, organization_id)


async def delete_organization(db: Database, principal: Principal, organization_id: UUID) -> None:
    async with db.service_tx() as conn:
        await require_admin(conn, principal)
        cur = await conn.execute("delete from public.organizations where id = %s returning id", (organization_id,))
        if await cur.fetchone() is None:
            raise NotFound("Organization not found")
