"""Gigs: search and read (public), post, edit, change status, delete, the caller's gigs and bookmarks."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from mangum import Mangum

from shared.auth.principal import Principal
from shared.config import get_settings
from shared.models.gigs import Gig, GigFilters, GigInput, GigStatusUpdate, GigUpdate, MyGigsQuery, PageQuery, SaveResult
from shared.services import gig_search, gigs, usage
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db, OptionalUser
from shared.web.envelope import Envelope, Page, ok, page_of

router = APIRouter(prefix=API_PREFIX, tags=["gigs"])


def viewer_key(request: Request, user: Principal | None) -> str:
    """Who viewed, for counting each viewer once a day: the user id, or a keyed hash of the client
    (address and user agent) for anonymous readers; the raw address is never stored."""
    if user is not None:
        return f"user:{user.user_id}"
    secret = get_settings().supabase_jwt_secret
    key = (secret.get_secret_value() if secret else "ugig").encode()
    client = request.client.host if request.client else "-"
    agent = request.headers.get("user-agent", "")
    return "anon:" + hmac.new(key, f"{client}|{agent}".encode(), hashlib.sha256).hexdigest()[:40]


@router.get("/gigs", response_model=Envelope[Page[Gig]])
async def list_gigs(filters: Annotated[GigFilters, Query()], user: OptionalUser, db: Db, response: Response) -> Any:
    """Active gigs, filtered and sorted. `total` is exact for up to a few thousand matches; above, it is
    the database's estimate rounded to two figures ("about 75,000") and the `X-Total-Exact: false`
    header says so. Only the first 10,000 matches can be paged. sort=relevance ranks the newest 200
    matches (or as many as the page needs)."""
    async with db.user_tx(user) as conn:
        found = await gig_search.search_gigs(conn, filters)
    response.headers["X-Total-Exact"] = "true" if found.total_exact else "false"
    return ok(page_of(found.items, total=found.total, page=filters.page, limit=filters.limit, has_more=found.has_more))


@router.post("/gigs", status_code=201, response_model=Envelope[Gig])
async def create_gig(body: GigInput, user: CurrentUser, db: Db) -> Any:
    await usage.sync_plan_settings(db, get_settings())  # the free plan's limit, where the trigger reads it
    async with db.user_tx(user) as conn:
        return ok(await gigs.create_gig(conn, user, body))


@router.get("/gigs/{gig_id}", response_model=Envelope[Gig])
async def get_gig(gig_id: UUID, request: Request, user: OptionalUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await gigs.view_gig(conn, gig_id, viewer_key(request, user)))


@router.patch("/gigs/{gig_id}", response_model=Envelope[Gig])
async def update_gig(gig_id: UUID, body: GigUpdate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await gigs.update_gig(conn, gig_id, body))


@router.delete("/gigs/{gig_id}", response_model=Envelope[dict[str, UUID]])
async def delete_gig(gig_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        await gigs.delete_gig(conn, gig_id)
    return ok({"id": gig_id})


@router.put("/gigs/{gig_id}/status", response_model=Envelope[Gig])
async def update_gig_status(gig_id: UUID, body: GigStatusUpdate, user: CurrentUser, db: Db) -> Any:
    await usage.sync_plan_settings(db, get_settings())
    async with db.user_tx(user) as conn:
        return ok(await gigs.set_gig_status(conn, gig_id, body.status))


@router.get("/me/gigs", response_model=Envelope[Page[Gig]])
async def my_gigs(query: Annotated[MyGigsQuery, Query()], user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        items, total = await gigs.my_gigs(conn, user, query)
    return ok(page_of(items, total=total, page=query.page, limit=query.limit))


@router.put("/gigs/{gig_id}/save", response_model=Envelope[SaveResult])
async def save_gig(gig_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await gigs.save_gig(conn, user, gig_id))


@router.delete("/gigs/{gig_id}/save", response_model=Envelope[SaveResult])
async def unsave_gig(gig_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await gigs.unsave_gig(conn, user, gig_id))


@router.get("/me/saved-gigs", response_model=Envelope[Page[Gig]])
async def saved_gigs(query: Annotated[PageQuery, Query()], user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        items, total = await gigs.saved_gigs(conn, user, query)
    return ok(page_of(items, total=total, page=query.page, limit=query.limit))


app = create_app(router, title="ugig gigs")
handler = Mangum(app, lifespan="off")
