"""Video calls: create (instant) or schedule, upcoming and history lists, end."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from mangum import Mangum
from pydantic import BaseModel, ConfigDict, Field

from shared.models.calls import CallCreate, VideoCall
from shared.services import calls
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import Envelope, ok

router = APIRouter(prefix=API_PREFIX, tags=["calls"])


class CallsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)


@router.post("/calls", status_code=201, response_model=Envelope[VideoCall])
async def create_call(body: CallCreate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await calls.create(conn, body))


@router.get("/calls/upcoming", response_model=Envelope[list[VideoCall]])
async def upcoming_calls(query: Annotated[CallsQuery, Query()], user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await calls.list_for_caller(conn, "upcoming", query.limit))


@router.get("/calls/history", response_model=Envelope[list[VideoCall]])
async def call_history(query: Annotated[CallsQuery, Query()], user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await calls.list_for_caller(conn, "history", query.limit))


@router.post("/calls/{call_id}/end", response_model=Envelope[VideoCall])
async def end_call(call_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await calls.end(conn, call_id))


app = create_app(router, title="ugig calls")
handler = Mangum(app, lifespan="off")
