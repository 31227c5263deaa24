"""Reviews: create (poster <-> hired freelancer, once per gig), a user's reviews and rating (public)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from mangum import Mangum

from shared.models.messaging import PageQuery
from shared.models.reviews import Rating, Review, ReviewCreate
from shared.services import reviews
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db, OptionalUser
from shared.web.envelope import Envelope, Page, ok, page_of

router = APIRouter(prefix=API_PREFIX, tags=["reviews"])


@router.post("/reviews", status_code=201, response_model=Envelope[Review])
async def create_review(body: ReviewCreate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await reviews.create(conn, body))


@router.get("/users/{user_id}/reviews", response_model=Envelope[Page[Review]])
async def user_reviews(user_id: UUID, query: Annotated[PageQuery, Query()], user: OptionalUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        items, total = await reviews.for_user(conn, user_id, page=query.page, limit=query.limit)
    return ok(page_of(items, total=total, page=query.page, limit=query.limit))


@router.get("/users/{user_id}/rating", response_model=Envelope[Rating])
async def user_rating(user_id: UUID, user: OptionalUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await reviews.rating_of(conn, user_id))


app = create_app(router, title="ugig reviews")
handler = Mangum(app, lifespan="off")
