"""Invitations to organizations: admins invite and revoke; the invited user accepts or declines."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from mangum import Mangum

from shared.models.organizations import Invitation, InvitationCreate
from shared.services import invitations
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import Envelope, ok

router = APIRouter(prefix=API_PREFIX, tags=["invitations"])


@router.post("/organizations/{organization_id}/invitations", status_code=201, response_model=Envelope[Invitation])
async def invite(organization_id: UUID, body: InvitationCreate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await invitations.create(conn, organization_id, body))


@router.get("/organizations/{organization_id}/invitations", response_model=Envelope[list[Invitation]])
async def pending_invitations(organization_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await invitations.list_pending(conn, organization_id))


@router.delete("/organizations/{organization_id}/invitations/{invitation_id}", response_model=Envelope[Invitation])
async def revoke_invitation(organization_id: UUID, invitation_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await invitations.revoke(conn, organization_id, invitation_id))


@router.get("/me/invitations", response_model=Envelope[list[Invitation]])
async def my_invitations(user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await invitations.list_mine(conn))


@router.post("/invitations/{invitation_id}/accept", response_model=Envelope[Invitation])
async def accept_invitation(invitation_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await invitations.respond(conn, invitation_id, accept=True))


@router.post("/invitations/{invitation_id}/decline", response_model=Envelope[Invitation])
async def decline_invitation(invitation_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await invitations.respond(conn, invitation_id, accept=False))


app = create_app(router, title="ugig invitations")
handler = Mangum(app, lifespan="off")
