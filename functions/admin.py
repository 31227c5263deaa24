"""Platform administration: users, organizations, exports (admins and superadmins only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from mangum import Mangum

from shared.models.admin import (
    AdminOrganization,
    AdminOrganizationCreate,
    AdminUser,
    AdminUserCreate,
    AdminUserUpdate,
    ExportRequest,
    ExportResult,
    PlatformRole,
    UserSort,
)
from shared.models.organizations import OrganizationUpdate
from shared.services import admin, exports
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import Envelope, Page, ok
from shared.web.rate_limit import ADMIN_USER_LIST, rate_limited

router = APIRouter(prefix=API_PREFIX + "/admin", tags=["admin"])

PageNo = Annotated[int, Query(ge=1, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=100)]
Search = Annotated[str | None, Query(max_length=100)]
SortOrder = Annotated[Literal["asc", "desc"], Query(alias="sortOrder")]


@router.get("/users", response_model=Envelope[Page[AdminUser]], dependencies=[Depends(rate_limited(ADMIN_USER_LIST))])
async def list_users(
    user: CurrentUser,
    db: Db,
    page: PageNo = 1,
    limit: Limit = 20,
    search: Search = None,
    role: PlatformRole | None = None,
    banned: bool | None = None,
    sort_by: Annotated[UserSort, Query(alias="sortBy")] = "created_at",
    sort_order: SortOrder = "desc",
) -> Any:
    result = await admin.list_users(
        db,
        user,
        page=page,
        limit=limit,
        search=search,
        role=role,
        banned=banned,
        sort_by=sort_by,
        sort_order=sort_order,
    )
    return ok(result)


@router.get("/users/by-email/{email}", response_model=Envelope[AdminUser])
async def get_user_by_email(email: Annotated[str, Path(max_length=254)], user: CurrentUser, db: Db) -> Any:
    return ok(await admin.get_user_by_email(db, user, email))


@router.get("/users/{user_id}", response_model=Envelope[AdminUser])
async def get_user(user_id: UUID, user: CurrentUser, db: Db) -> Any:
    return ok(await admin.get_user(db, user, user_id))


@router.post("/users", status_code=201, response_model=Envelope[AdminUser])
async def create_user(body: AdminUserCreate, user: CurrentUser, db: Db) -> Any:
    return ok(await admin.create_user(db, user, body))


@router.patch("/users/{user_id}", response_model=Envelope[AdminUser])
async def update_user(user_id: UUID, body: AdminUserUpdate, user: CurrentUser, db: Db) -> Any:
    return ok(await admin.update_user(db, user, user_id, body))


@router.delete("/users/{user_id}", response_model=Envelope[None])
async def delete_user(user_id: UUID, user: CurrentUser, db: Db) -> Any:
    await admin.delete_user(db, user, user_id)
    return ok(None)


@router.get("/organizations", response_model=Envelope[Page[AdminOrganization]])
async def list_organizations(
    user: CurrentUser,
    db: Db,
    page: PageNo = 1,
    limit: Limit = 20,
    search: Search = None,
    sort: Literal["name", "created_at", "updated_at"] = "created_at",
    sort_order: SortOrder = "desc",
) -> Any:
    result = await admin.list_organizations(
        db, user, page=page, limit=limit, search=search, sort=sort, sort_order=sort_order
    )
    return ok(result)


@router.post("/organizations", status_code=201, response_model=Envelope[AdminOrganization])
async def create_organization(body: AdminOrganizationCreate, user: CurrentUser, db: Db) -> Any:
    return ok(await admin.create_organization(db, user, body))


@router.get("/organizations/{organization_id}", response_model=Envelope[AdminOrganization])
async def get_organization(organization_id: UUID, user: CurrentUser, db: Db) -> Any:
    return ok(await admin.get_organization(db, user, organization_id))


@router.patch("/organizations/{organization_id}", response_model=Envelope[AdminOrganization])
async def update_organization(organization_id: UUID, body: OrganizationUpdate, user: CurrentUser, db: Db) -> Any:
    return ok(await admin.update_organization(db, user, organization_id, body))


@router.delete("/organizations/{organization_id}", response_model=Envelope[None])
async def delete_organization(organization_id: UUID, user: CurrentUser, db: Db) -> Any:
    await admin.delete_organization(db, user, organization_id)
    return ok(None)


@router.post("/export/users", response_model=Envelope[ExportResult])
async def export_users(body: ExportRequest, user: CurrentUser, db: Db) -> Any:
    return ok(await exports.export_users(db, user, body))


app = create_app(router, title="ugig admin")
handler = Mangum(app, lifespan="off")
