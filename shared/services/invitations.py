"""Invitations: admins invite by email; only the user with that verified email accepts or declines."""

from __future__ import annotations

from uuid import UUID

import psycopg

from shared.db import Conn
from shared.errors import Conflict, NotFound
from shared.models.organizations import Invitation, InvitationCreate
from shared.services.organizations import _require_role


async def create(conn: Conn, organization_id: UUID, body: InvitationCreate) -> Invitation:
    await _require_role(conn, organization_id, "admin", "invite people")
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "insert into public.invitations (organization_id, email, role, message)"
                " values (%s, %s, %s, %s) returning *",
                (organization_id, body.email, body.role, body.message),
            )
            row = await cur.fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict("This email already has a pending invitation") from exc
    assert row is not None
    return Invitation.model_validate(row)


async def list_pending(conn: Conn, organization_id: UUID) -> list[Invitation]:
    await _require_role(conn, organization_id, "admin", "see invitations")
    cur = await conn.execute(
        "select * from public.invitations where organization_id = %s and status = 'pending' and expires_at > now()"
        " order by created_at desc",
        (organization_id,),
    )
    return [Invitation.model_validate(r) for r in await cur.fetchall()]


async def list_mine(conn: Conn) -> list[Invitation]:
    cur = await conn.execute(
        "select * from public.invitations where email = (select private.my_verified_email())"
        " and status = 'pending' and expires_at > now() order by created_at desc"
    )
    return [Invitation.model_validate(r) for r in await cur.fetchall()]


async def revoke(conn: Conn, organization_id: UUID, invitation_id: UUID) -> Invitation:
    await _require_role(conn, organization_id, "admin", "revoke invitations")
    cur = await conn.execute(
        "update public.invitations set status = 'revoked'"
        " where id = %s and organization_id = %s and status = 'pending' returning *",
        (invitation_id, organization_id),
    )
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute(
            "select 1 from public.invitations where id = %s and organization_id = %s", (invitation_id, organization_id)
        )
        if await cur.fetchone() is None:
            raise NotFound("Invitation not found")
        raise Conflict("This invitation is no longer pending")
    return Invitation.model_validate(row)


async def respond(conn: Conn, invitation_id: UUID, *, accept: bool) -> Invitation:
    cur = await conn.execute("select * from private.respond_to_invitation(%s, %s)", (invitation_id, accept))
    row = await cur.fetchone()
    assert row is not None
    return Invitation.model_validate(row)
