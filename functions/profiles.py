"""Profiles: public profiles by username, the caller's own profile, availability and avatar."""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, File, UploadFile
from mangum import Mangum

from shared.files import IMAGE_TYPES, check_upload
from shared.models.profiles import AvailabilityUpdate, AvatarResult, Profile, ProfileUpdate
from shared.providers.storage import BlobStorage, get_storage
from shared.services import profiles
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db, OptionalUser
from shared.web.envelope import Envelope, ok

router = APIRouter(prefix=API_PREFIX + "/profiles", tags=["profiles"])

AVATAR_BUCKET = "avatars"
AVATAR_MAX_BYTES = 5 * 1024 * 1024


@router.get("/me", response_model=Envelope[Profile])
async def get_my_profile(user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await profiles.get_by_id(conn, user.user_id))


@router.patch("/me", response_model=Envelope[Profile])
async def update_my_profile(body: ProfileUpdate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await profiles.update_profile(conn, user.user_id, body))


@router.put("/me/availability", response_model=Envelope[Profile])
async def update_availability(body: AvailabilityUpdate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await profiles.set_availability(conn, user.user_id, body.is_available))


def _own_avatar_path(storage: BlobStorage, url: str | None, owner: str) -> str | None:
    """The storage path behind one of our avatar URLs, only under the owner's prefix."""
    prefix = storage.public_url(AVATAR_BUCKET, "")
    if not url or not url.startswith(prefix):
        return None
    path = unquote(url[len(prefix) :])
    return path if path.startswith(owner + "/") and ".." not in path else None


@router.post("/me/avatar", response_model=Envelope[AvatarResult])
async def upload_avatar(file: Annotated[UploadFile, File()], user: CurrentUser, db: Db) -> Any:
    data = await file.read(AVATAR_MAX_BYTES + 1)
    checked = check_upload(data, file.filename, allowed=IMAGE_TYPES, max_bytes=AVATAR_MAX_BYTES)
    owner = str(user.user_id)
    path = f"{owner}/avatar-{secrets.token_hex(8)}.{checked.extension}"
    storage = get_storage()
    # Store first, outside the transaction; point the profile at it; drop the old file only after commit.
    await storage.put(AVATAR_BUCKET, path, checked.data, checked.content_type, upsert=False)
    url = storage.public_url(AVATAR_BUCKET, path)
    try:
        async with db.user_tx(user) as conn:
            old_url = await profiles.set_avatar_url(conn, user.user_id, url)
    except BaseException:
        await storage.delete(AVATAR_BUCKET, [path])
        raise
    old_path = _own_avatar_path(storage, old_url, owner)
    if old_path and old_path != path:
        await storage.delete(AVATAR_BUCKET, [old_path])
    return ok(AvatarResult(url=url))


@router.get("/{username}", response_model=Envelope[Profile])
async def get_profile(username: str, user: OptionalUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await profiles.get_by_username(conn, username))


app = create_app(router, title="ugig profiles")
handler = Mangum(app, lifespan="off")
