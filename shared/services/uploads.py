"""Generic uploads: per-folder types and size limits, checked on content; files go under the
uploader's own id prefix with a random name (the user's file name is only a display name)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.auth.principal import Principal
from shared.db import Database
from shared.files import DOCUMENT_TYPES, IMAGE_TYPES, check_upload
from shared.models.uploads import FileDescriptor, UploadFolder
from shared.providers.storage import PUBLIC_BUCKETS, BlobStorage, get_storage

MB = 1024 * 1024
SIGNED_URL_SECONDS = 3600


@dataclass(frozen=True)
class FolderRule:
    bucket: str
    allowed: frozenset[str]
    max_bytes: int


FOLDERS: dict[str, FolderRule] = {
    "avatars": FolderRule("avatars", IMAGE_TYPES, 5 * MB),
    "documents": FolderRule("documents", DOCUMENT_TYPES, 10 * MB),
}
MAX_UPLOAD_BYTES = max(rule.max_bytes for rule in FOLDERS.values())


async def upload(
    db: Database,
    principal: Principal,
    folder: UploadFolder,
    data: bytes,
    filename: str | None,
    storage: BlobStorage | None = None,
) -> FileDescriptor:
    rule = FOLDERS[folder]
    checked = check_upload(data, filename, allowed=rule.allowed, max_bytes=rule.max_bytes)
    storage = storage or get_storage()
    file_id = uuid.uuid4()
    path = f"{principal.user_id}/{folder}/{file_id.hex}.{checked.extension}"
    await storage.put(rule.bucket, path, checked.data, checked.content_type, upsert=False)
    try:
        async with db.user_tx(principal) as conn:
            cur = await conn.execute(
                "insert into public.uploads (id, folder, bucket, path, name, content_type, size)"
                " values (%s, %s, %s, %s, %s, %s, %s) returning created_at",
                (file_id, folder, rule.bucket, path, checked.filename, checked.content_type, checked.size),
            )
            row = await cur.fetchone()
    except BaseException:
        await storage.delete(rule.bucket, [path])  # no row, no file
        raise
    assert row is not None
    if rule.bucket in PUBLIC_BUCKETS:
        url = storage.public_url(rule.bucket, path)
    else:
        url = await storage.signed_url(rule.bucket, path, SIGNED_URL_SECONDS)
    return FileDescriptor(
        id=file_id,
        name=checked.filename,
        url=url,
        size=checked.size,
        type=checked.content_type,
        folder=folder,
        uploaded_at=row["created_at"],
    )
