"""GET /categories: the marketplace taxonomy plus the caller's organizations' own categories."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from mangum import Mangum

from shared.models.categories import Category
from shared.services import categories
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import Db, OptionalUser
from shared.web.envelope import Envelope, ok

router = APIRouter(prefix=API_PREFIX, tags=["categories"])


@router.get("/categories", response_model=Envelope[list[Category]])
async def list_categories(user: OptionalUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await categories.list_categories(conn))


app = create_app(router, title="ugig categories")
handler = Mangum(app, lifespan="off")
