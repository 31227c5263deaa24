"""Serves the local storage folder the way Supabase Storage serves objects (local runs only)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from shared.errors import NotFound
from shared.providers.storage import PUBLIC_BUCKETS, LocalStorage, get_storage

router = APIRouter(prefix="/storage/v1/object", include_in_schema=False)


def _local() -> LocalStorage:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        raise NotFound()
    return storage


async def _read(storage: LocalStorage, bucket: str, path: str) -> Response:
    try:
        data, content_type = await asyncio.to_thread(storage.read, bucket, path)
    except (OSError, ValueError) as exc:
        raise NotFound("No such file") from exc
    # Never let a stored file render as a page of ours.
    headers = {"X-Content-Type-Options": "nosniff", "Content-Disposition": "attachment"}
    if content_type.startswith("image/"):
        headers["Content-Disposition"] = "inline"
    return Response(data, media_type=content_type, headers=headers)


@router.get("/public/{bucket}/{path:path}")
async def public_object(bucket: str, path: str) -> Response:
    if bucket not in PUBLIC_BUCKETS:
        raise NotFound()
    return await _read(_local(), bucket, path)


@router.get("/sign/{bucket}/{path:path}")
async def signed_object(bucket: str, path: str, expires: int, token: str) -> Response:
    storage = _local()
    if not storage.verify_signature(bucket, path, expires, token):
        raise NotFound()
    return await _read(storage, bucket, path)
