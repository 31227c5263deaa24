"""The caller's notifications: list, mark one or all read, unread count."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from mangum import Mangum

from shared.models.messaging import PageQuery
from shared.models.notifications import MarkedRead, Notification, UnreadCount
from shared.services import notifications
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import Envelope, Page, ok, page_of

router = APIRouter(prefix=API_PREFIX, tags=["notifications"])


class NotificationsQuery(PageQuery):
    unread_only: bool = False


@router.get("/notifications", response_model=Envelope[Page[Notification]])
async def list_notifications(query: Annotated[NotificationsQuery, Query()], user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        items, total = await notifications.list_for_caller(
            conn, unread_only=query.unread_only, page=query.page, limit=query.limit
        )
    return ok(page_of(items, total=total, page=query.page, limit=query.limit))


# Declared before /notifications/{id}/read so "read-all" is never taken for an id.
@router.post("/notifications/read-all", response_model=Envelope[MarkedRead])
async def mark_all_read(user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(MarkedRead(updated=await notifications.mark_all_read(conn)))


@router.get("/notifications/unread-count", response_model=Envelope[UnreadCount])
async def unread_count(user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(UnreadCount(count=await notifications.unread_count(conn)))


@router.post("/notifications/{notification_id}/read", response_model=Envelope[Notification])
async def mark_read(notification_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await notifications.mark_read(conn, notification_id))


app = create_app(router, title="ugig notifications")
handler = Mangum(app, lifespan="off")
