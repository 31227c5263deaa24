"""Message attachments: stored in the private `attachments` bucket under
<owner_id>/<conversation_id>/<random>.<ext>, recorded in public.attachments, read through
short-lived signed URLs generated on each read (never a stored public URL)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from shared.db import Conn
from shared.files import DOCUMENT_TYPES, IMAGE_TYPES, CheckedFile
from shared.models.messaging import Attachment
from shared.providers.storage import BlobStorage

BUCKET = "attachments"
MAX_BYTES = 25 * 1024 * 1024
ALLOWED_TYPES = IMAGE_TYPES | DOCUMENT_TYPES
SIGNED_URL_SECONDS = 15 * 60


def storage_path(owner_id: UUID, conversation_id: UUID, checked: CheckedFile) -> str:
    return f"{owner_id}/{conversation_id}/{secrets.token_urlsafe(16)}.{checked.extension}"


async def record(conn: Conn, conversation_id: UUID, path: str, checked: CheckedFile) -> dict[str, Any]:
    """The row for an uploaded file; the trigger pins the owner and checks the path and membership."""
    cur = await conn.execute(
        "insert into public.attachments (conversation_id, path, name, content_type, size)"
        " values (%s, %s, %s, %s, %s) returning id, name, content_type, size, path",
        (conversation_id, path, checked.filename, checked.content_type, checked.size),
    )
    row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def signed(storage: BlobStorage, rows: Iterable[dict[str, Any]]) -> list[Attachment]:
    """Attachment models with fresh signed URLs (generated concurrently; no transaction is open)."""
    items = list(rows)
    urls = await asyncio.gather(*(storage.signed_url(BUCKET, r["path"], SIGNED_URL_SECONDS) for r in items))
    return [
        Attachment(id=r["id"], name=r["name"], url=url, type=r["content_type"], size=r["size"])
        for r, url in zip(items, urls, strict=True)
    ]
