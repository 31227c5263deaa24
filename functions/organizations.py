"""Organizations (workspaces) and their members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from mangum import Mangum

from shared.models.categories import Category
from shared.models.organizations import (
    Member,
    MemberUpdate,
    Organization,
    OrganizationCreate,
    OrganizationUpdate,
    OrgCategoryCreate,
    OrgCategoryUpdate,
)
from shared.services import organizations
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import Envelope, ok

router = APIRouter(prefix=API_PREFIX, tags=["organizations"])


@router.post("/organizations", status_code=201, response_model=Envelope[Organization])
async def create_organization(body: OrganizationCreate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await organizations.create(conn, body))


@router.get("/me/organizations", response_model=Envelope[list[Organization]])
async def my_organizations(user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await organizations.list_mine(conn))


@router.get("/organizations/{organization_id}", response_model=Envelope[Organization])
async def get_organization(organization_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await organizations.get(conn, organization_id))


@router.patch("/organizations/{organization_id}", response_model=Envelope[Organization])
async def update_organization(organization_id: UUID, body: OrganizationUpdate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await organizations.update(conn, organization_id, body))


@router.delete("/organizations/{organization_id}", response_model=Envelope[None])
async def delete_organization(organization_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        await organizations.delete(conn, organization_id)
    return ok(None)


@router.get("/organizations/{organization_id}/members", response_model=Envelope[list[Member]])
async def list_members(organization_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await organizations.members(conn, organization_id))


@router.patch("/organizations/{organization_id}/members/{user_id}", response_model=Envelope[Member])
async def update_member(organization_id: UUID, user_id: UUID, body: MemberUpdate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await organizations.update_member(conn, organization_id, user_id, body))


@router.delete("/organizations/{organization_id}/members/{user_id}", response_model=Envelope[None])
async def remove_member(organization_id: UUID, user_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        await organizations.remove_member(conn, organization_id, user_id)
    return ok(None)


@router.post("/organizations/{organization_id}/categories", status_code=201, response_model=Envelope[Category])
async def create_category(organization_id: UUID, body: OrgCategoryCreate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await organizations.create_category(conn, organization_id, body))


@router.patch("/categories/{category_id}", response_model=Envelope[Category])
async def update_category(category_id: UUID, body: OrgCategoryUpdate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await organizations.update_category(conn, category_id, body))


@router.delete("/categories/{category_id}", response_model=Envelope[None])
async def delete_category(category_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        await organizations.delete_category(conn, category_id)
    return ok(None)


app = create_app(router, title="ugig organizations")
handler = Mangum(app, lifespan="off")
