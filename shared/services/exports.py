"""User exports: CSV or JSON written to the private `exports` bucket, handed out as a signed link
that expires; the row in public.exports lets the cleanup cron delete the file after it expires."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.auth.principal import Principal
from shared.db import Database
from shared.models.admin import AdminUser, ExportRequest, ExportResult
from shared.providers.storage import BlobStorage, get_storage
from shared.services.admin import _USER_SELECT, require_admin, user_filters

EXPORT_BUCKET = "exports"
EXPORT_TTL_SECONDS = 3600
MAX_EXPORT_ROWS = 50_000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """A spreadsheet must not run a cell as a formula (CSV injection): prefix a single quote."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def render_csv(rows: list[dict[str, Any]], fields: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    for row in rows:
        cells = []
        for field in fields:
            value = _cell(row.get(field))
            cells.append("" if value is None else neutralise(str(value)))
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def render_json(rows: list[dict[str, Any]], fields: list[str]) -> bytes:
    items = [{field: _cell(row.get(field)) for field in fields} for row in rows]
    return json.dumps(items, default=str, ensure_ascii=False).encode("utf-8")


async def export_users(
    db: Database, principal: Principal, body: ExportRequest, storage: BlobStorage | None = None
) -> ExportResult:
    storage = storage or get_storage()
    f = body.filters
    filters, params = user_filters(
        search=f.search, role=f.role, banned=f.banned, created_from=f.created_from, created_to=f.created_to
    )
    async with db.service_tx() as conn:
        await require_admin(conn, principal)
        cur = await conn.execute(
            _USER_SELECT + filters + " order by u.created_at, u.id limit %s", [*params, MAX_EXPORT_ROWS]
        )
        users = [AdminUser.model_validate(r).model_dump() for r in await cur.fetchall()]
    fields: list[str] = [str(f) for f in body.fields]
    data = render_csv(users, fields) if body.format == "csv" else render_json(users, fields)
    now = datetime.now(UTC)
    filename = f"users_{now:%Y%m%d_%H%M%S}.{body.format}"
    path = f"{principal.user_id}/{secrets.token_hex(8)}/{filename}"
    content_type = "text/csv" if body.format == "csv" else "application/json"
    expires_at = now + timedelta(seconds=EXPORT_TTL_SECONDS)
    # Recorded before the upload, so a file can never exist without a row the cron will find.
    async with db.service_tx() as conn:
        await conn.execute(
            "insert into public.exports (created_by, path, format, size, row_count, expires_at)"
            " values (%s, %s, %s, %s, %s, %s)",
            (principal.user_id, path, body.format, len(data), len(users), expires_at),
        )
    await storage.put(EXPORT_BUCKET, path, data, content_type, upsert=False)
    url = await storage.signed_url(EXPORT_BUCKET, path, EXPORT_TTL_SECONDS)
    return ExportResult(download_url=url, filename=filename, size=len(data), expires_at=expires_at)
