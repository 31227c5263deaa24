"""Organizations and their members, as the caller (RLS and triggers decide; we translate)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import psycopg

from shared.db import Conn, to_json
from shared.errors import Conflict, Forbidden, NotFound
from shared.models.categories import Category
from shared.models.organizations import (
    Member,
    MemberUpdate,
    Organization,
    OrganizationCreate,
    OrganizationUpdate,
    OrgCategoryCreate,
    OrgCategoryUpdate,
    slugify,
)

_ORG_SELECT = """
select o.*, private.org_role_of(o.id, (select auth.uid())) as role,
       (select count(*) from public.organization_members c where c.organization_id = o.id)::int as member_count
from public.organizations o
"""


def slug_taken() -> Conflict:
    return Conflict("This slug is taken")


async def insert_organization(conn: Conn, values: dict[str, Any]) -> UUID:
    """Inserts in a savepoint so a taken slug becomes a clear 409 on the slug field."""
    # No RETURNING: the new row is not visible to its creator until the trigger adds the membership.
    values = {"id": values.get("id") or uuid4(), **values}
    columns = list(values)
    placeholders = ", ".join(f"%({c})s" for c in columns)
    try:
        async with conn.transaction():
            await conn.execute(
                f"insert into public.organizations ({', '.join(columns)}) values ({placeholders})", values
            )
    except psycopg.errors.UniqueViolation as exc:
        raise slug_taken() from exc
    return UUID(str(values["id"]))


def _values(body: OrganizationCreate | OrganizationUpdate, *, creating: bool) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True)
    if "metadata" in values:
        values["metadata"] = to_json(values["metadata"] or {})
    if creating and not values.get("slug"):
        values["slug"] = slugify(values["name"])
    return values


async def get(conn: Conn, organization_id: UUID) -> Organization:
    cur = await conn.execute(_ORG_SELECT + " where o.id = %s", (organization_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Organization not found")
    return Organization.model_validate(row)


async def create(conn: Conn, body: OrganizationCreate) -> Organization:
    organization_id = await insert_organization(conn, _values(body, creating=True))
    return await get(conn, organization_id)


async def list_mine(conn: Conn) -> list[Organization]:
    cur = await conn.execute(
        _ORG_SELECT + " where o.id in (select private.org_ids_for('member')) order by o.name, o.id"
    )
    return [Organization.model_validate(r) for r in await cur.fetchall()]


async def _require_role(conn: Conn, organization_id: UUID, minimum: str, action: str) -> None:
    """NOT_FOUND when the caller cannot see the organization, FORBIDDEN when they can but may not act."""
    cur = await conn.execute(
        "select private.org_role_rank(private.org_role_of(%s, (select auth.uid())))"
        " >= private.org_role_rank(%s) as allowed,"
        " exists (select 1 from public.organizations where id = %s) as visible",
        (organization_id, minimum, organization_id),
    )
    row = await cur.fetchone()
    if row is None or not row["visible"]:
        raise NotFound("Organization not found")
    if not row["allowed"]:
        raise Forbidden(f"Only organization {minimum}s can {action}")


async def update_organization_row(conn: Conn, organization_id: UUID, values: dict[str, Any]) -> None:
    """Writes the given columns (names from the validated model, never from input); a taken slug is 409."""
    if not values:
        return
    sets = ", ".join(f"{c} = %({c})s" for c in values)
    try:
        async with conn.transaction():
            await conn.execute(
                f"update public.organizations set {sets} where id = %(id)s", {**values, "id": organization_id}
            )
    except psycopg.errors.UniqueViolation as exc:
        raise slug_taken() from exc


async def update(conn: Conn, organization_id: UUID, body: OrganizationUpdate) -> Organization:
    await _require_role(conn, organization_id, "admin", "change it")
    await update_organization_row(conn, organization_id, _values(body, creating=False))
    return await get(conn, organization_id)


async def delete(conn: Conn, organization_id: UUID) -> None:
    await _require_role(conn, organization_id, "owner", "delete it")
    await conn.execute("delete from public.organizations where id = %s", (organization_id,))


async def members(conn: Conn, organization_id: UUID) -> list[Member]:
    await _require_role(conn, organization_id, "member", "see its members")
    cur = await conn.execute("select * from private.organization_member_directory(%s)", (organization_id,))
    return [Member.model_validate(r) for r in await cur.fetchall()]


async def _member(conn: Conn, organization_id: UUID, user_id: UUID) -> Member:
    cur = await conn.execute(
        "select * from private.organization_member_directory(%s) where user_id = %s", (organization_id, user_id)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Member not found")
    return Member.model_validate(row)


async def update_member(conn: Conn, organization_id: UUID, user_id: UUID, body: MemberUpdate) -> Member:
    await _require_role(conn, organization_id, "member", "see its members")
    await _member(conn, organization_id, user_id)
    cur = await conn.execute(
        "update public.organization_members set role = %s where organization_id = %s and user_id = %s returning 1",
        (body.role, organization_id, user_id),
    )
    if await cur.fetchone() is None:
        raise Forbidden("Only organization admins can manage members")
    return await _member(conn, organization_id, user_id)


async def remove_member(conn: Conn, organization_id: UUID, user_id: UUID) -> None:
    await _require_role(conn, organization_id, "member", "see its members")
    await _member(conn, organization_id, user_id)
    cur = await conn.execute(
        "delete from public.organization_members where organization_id = %s and user_id = %s returning 1",
        (organization_id, user_id),
    )
    if await cur.fetchone() is None:
        raise Forbidden("Only organization admins can remove members")


_CATEGORY_COLUMNS = "id, slug, name, description, organization_id, sort_order"


def _category_slug_taken() -> Conflict:
    return Conflict("This organization already has a category with this slug")


async def create_category(conn: Conn, organization_id: UUID, body: OrgCategoryCreate) -> Category:
    await _require_role(conn, organization_id, "admin", "manage its categories")
    slug = body.slug or slugify(body.name)
    try:
        async with conn.transaction():
            cur = await conn.execute(
                f"insert into public.categories (organization_id, slug, name, description, sort_order)"
                f" values (%s, %s, %s, %s, %s) returning {_CATEGORY_COLUMNS}",
                (organization_id, slug, body.name.strip(), body.description, body.sort_order),
            )
            row = await cur.fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise _category_slug_taken() from exc
    return Category.model_validate(row)


async def _org_category(conn: Conn, category_id: UUID) -> UUID:
    """The organization of a category the caller can see; marketplace categories are not theirs to edit."""
    cur = await conn.execute("select organization_id from public.categories where id = %s", (category_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound("Category not found")
    if row["organization_id"] is None:
        raise Forbidden("Marketplace categories cannot be changed here")
    organization_id = UUID(str(row["organization_id"]))
    await _require_role(conn, organization_id, "admin", "manage its categories")
    return organization_id


async def update_category(conn: Conn, category_id: UUID, body: OrgCategoryUpdate) -> Category:
    await _org_category(conn, category_id)
    values = body.model_dump(exclude_unset=True, exclude_none=True)
    if values:
        sets = ", ".join(f"{c} = %({c})s" for c in values)
        try:
            async with conn.transaction():
                await conn.execute(
                    f"update public.categories set {sets} where id = %(id)s", {**values, "id": category_id}
                )
        except psycopg.errors.UniqueViolation as exc:
            raise _category_slug_taken() from exc
    cur = await conn.execute(f"select {_CATEGORY_COLUMNS} from public.categories where id = %s", (category_id,))
    return Category.model_validate(await cur.fetchone())


async def delete_category(conn: Conn, category_id: UUID) -> None:
    await _org_category(conn, category_id)
    await conn.execute("delete from public.categories where id = %s", (category_id,))
