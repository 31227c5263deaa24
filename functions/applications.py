"""Applications: apply, withdraw, the caller's applications, a gig's applications (its managers only),
status changes one by one or all-or-nothing in bulk."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from mangum import Mangum

from shared.models.applications import (
    Application,
    ApplicationInput,
    ApplicationsQuery,
    ApplicationStatusUpdate,
    BulkStatusResult,
    BulkStatusUpdate,
)
from shared.services import applications
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import Envelope, Page, ok, page_of

router = APIRouter(prefix=API_PREFIX, tags=["applications"])


@router.post("/applications", status_code=201, response_model=Envelope[Application])
async def submit_application(body: ApplicationInput, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await applications.submit(conn, user, body))


@router.post("/applications/bulk-status", response_model=Envelope[BulkStatusResult])
async def bulk_update_status(body: BulkStatusUpdate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await applications.bulk_set_status(conn, user, body.ids, body.status))


@router.post("/applications/{application_id}/withdraw", response_model=Envelope[Application])
async def withdraw_application(application_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await applications.withdraw(conn, user, application_id))


@router.put("/applications/{application_id}/status", response_model=Envelope[Application])
async def update_application_status(
    application_id: UUID, body: ApplicationStatusUpdate, user: CurrentUser, db: Db
) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await applications.set_status(conn, user, application_id, body.status))


@router.get("/me/applications", response_model=Envelope[Page[Application]])
async def my_applications(query: Annotated[ApplicationsQuery, Query()], user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        items, total = await applications.mine(conn, user, query)
    return ok(page_of(items, total=total, page=query.page, limit=query.limit))


@router.get("/gigs/{gig_id}/applications", response_model=Envelope[Page[Application]])
async def gig_applications(
    gig_id: UUID, query: Annotated[ApplicationsQuery, Query()], user: CurrentUser, db: Db
) -> Any:
    async with db.user_tx(user) as conn:
        items, total = await applications.for_gig(conn, gig_id, query)
    return ok(page_of(items, total=total, page=query.page, limit=query.limit))


app = create_app(router, title="ugig applications")
handler = Mangum(app, lifespan="off")
