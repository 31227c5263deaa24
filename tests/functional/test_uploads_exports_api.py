"""Generic uploads (per-folder types and limits, checked on content, stored under the uploader) and
user exports (CSV/JSON into private storage, signed expiring link, formula cells neutralised)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from shared.config import get_settings
from shared.db import Conn, Database
from shared.providers.storage import LocalStorage, set_storage
from shared.services import cleanup_tasks, exports
from tests.factories.accounts import create_platform_user
from tests.factories.users import TestUser, as_owner, create_user

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[LocalStorage]:
    local = LocalStorage(tmp_path, "http://testserver", b"test-key")
    set_storage(local)
    yield local
    set_storage(None)


async def _upload(
    client: httpx.AsyncClient, who: TestUser, folder: str, data: bytes, name: str, claimed: str = "image/png"
) -> httpx.Response:
    return await client.post(
        "/api/v1/uploads", files={"file": (name, data, claimed)}, data={"folder": folder}, headers=who.headers
    )


async def test_upload_an_avatar(client: httpx.AsyncClient, conn: Conn, user: TestUser, storage: LocalStorage) -> None:
    response = await _upload(client, user, "avatars", PNG, "../../me.png")
    assert response.status_code == 201, response.text
    file = response.json()["data"]
    assert file["type"] == "image/png" and file["size"] == len(PNG) and file["folder"] == "avatars"
    assert file["name"] == "me.png"  # no path survives
    assert "uploadedAt" in file
    path = urlsplit(file["url"]).path
    assert path.startswith(f"/storage/v1/object/public/avatars/{user.id}/avatars/")
    served = await client.get(path)
    assert served.status_code == 200 and served.content == PNG
    await as_owner(conn)
    cur = await conn.execute("select user_id, path from public.uploads where id = %s", (file["id"],))
    row = await cur.fetchone()
    assert row is not None and row["user_id"] == user.id and row["path"].startswith(f"{user.id}/avatars/")


async def test_documents_are_private_with_a_signed_link(
    client: httpx.AsyncClient, user: TestUser, storage: LocalStorage
) -> None:
    response = await _upload(client, user, "documents", PDF, "brief.pdf", "application/pdf")
    assert response.status_code == 201, response.text
    url = urlsplit(response.json()["data"]["url"])
    assert url.path.startswith("/storage/v1/object/sign/documents/")
    assert (await client.get(f"{url.path}?{url.query}")).content == PDF
    public_path = url.path.replace("/sign/", "/public/")
    assert (await client.get(public_path)).status_code == 404


async def test_type_is_checked_on_content_per_folder(
    client: httpx.AsyncClient, user: TestUser, storage: LocalStorage
) -> None:
    disguised = await _upload(client, user, "avatars", b"MZ\x90\x00" + b"\x00" * 200, "cat.png")
    assert disguised.status_code == 415 and disguised.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    pdf_as_avatar = await _upload(client, user, "avatars", PDF, "a.pdf", "application/pdf")
    assert pdf_as_avatar.status_code == 415
    assert not any(storage.root.rglob("*.*"))


async def test_size_limits_per_folder(client: httpx.AsyncClient, user: TestUser, storage: LocalStorage) -> None:
    big_png = PNG + b"\x00" * (5 * 1024 * 1024)
    response = await _upload(client, user, "avatars", big_png, "big.png")
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    # The same bytes fit the documents folder's 10 MB only if their type is allowed there: it is not.
    assert (await _upload(client, user, "documents", big_png, "big.png")).status_code == 415


async def test_bad_upload_requests(client: httpx.AsyncClient, user: TestUser, storage: LocalStorage) -> None:
    response = await _upload(client, user, "attachments", PNG, "a.png")
    assert response.status_code == 400 and "folder" in response.json()["error"]["fields"]
    empty = await _upload(client, user, "avatars", b"", "a.png")
    assert empty.status_code == 400
    anonymous = await client.post("/api/v1/uploads", files={"file": ("a.png", PNG)}, data={"folder": "avatars"})
    assert anonymous.status_code == 401


# ---------------------------------------------------------------------- exports


def test_formula_cells_are_neutralised() -> None:
    rows = [
        {"full_name": '=HYPERLINK("http://evil")', "email": "+1@x.test"},
        {"full_name": "-2", "email": "@a"},
        {"full_name": "\tTab", "email": "plain@x.test"},
    ]
    text = exports.render_csv(rows, ["full_name", "email"]).decode()
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[1:] == [
        ['\'=HYPERLINK("http://evil")', "'+1@x.test"],
        ["'-2", "'@a"],
        ["'\tTab", "plain@x.test"],
    ]


async def test_export_users_as_csv(client: httpx.AsyncClient, conn: Conn, storage: LocalStorage) -> None:
    admin = await create_platform_user(conn, "admin")
    tag = uuid.uuid4().hex[:8]
    evil = await create_user(conn, email=f"evil-{tag}@example.test", full_name=f"=cmd|' /C calc'!A0 {tag}")
    await create_user(conn, email=f"fine-{tag}@example.test", full_name=f"Fine {tag}")
    response = await client.post(
        "/api/v1/admin/export/users",
        json={"format": "csv", "filters": {"search": tag}, "fields": ["id", "email", "full_name"]},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["filename"].endswith(".csv")
    expires = datetime.fromisoformat(data["expiresAt"])
    assert expires > datetime.now(UTC)
    url = urlsplit(data["downloadUrl"])
    assert url.path.startswith("/storage/v1/object/sign/exports/")
    downloaded = await client.get(f"{url.path}?{url.query}")
    assert downloaded.status_code == 200 and len(downloaded.content) == data["size"]
    rows = list(csv.DictReader(io.StringIO(downloaded.content.decode())))
    assert sorted(r["email"] for r in rows) == [f"evil-{tag}@example.test", f"fine-{tag}@example.test"]
    evil_row = next(r for r in rows if r["id"] == str(evil.id))
    assert evil_row["full_name"].startswith("'=")
    assert set(rows[0]) == {"id", "email", "full_name"}
    # Private bucket: no public address serves it.
    assert (await client.get(url.path.replace("/sign/", "/public/"))).status_code == 404
    await as_owner(conn)
    cur = await conn.execute("select created_by, row_count from public.exports order by created_at desc limit 1")
    row = await cur.fetchone()
    assert row == {"created_by": admin.id, "row_count": 2}


async def test_export_as_json_with_filters(client: httpx.AsyncClient, conn: Conn, storage: LocalStorage) -> None:
    admin = await create_platform_user(conn, "admin")
    tag = uuid.uuid4().hex[:8]
    person = await create_user(conn, email=f"json-{tag}@example.test")
    await create_platform_user(conn, "admin", email=f"json-admin-{tag}@example.test")
    response = await client.post(
        "/api/v1/admin/export/users",
        json={"format": "json", "filters": {"search": tag, "role": "user"}, "fields": ["id", "role", "banned"]},
        headers=admin.headers,
    )
    url = urlsplit(response.json()["data"]["downloadUrl"])
    items = json.loads((await client.get(f"{url.path}?{url.query}")).content)
    assert items == [{"id": str(person.id), "role": "user", "banned": False}]


async def test_export_needs_admin_and_valid_fields(
    client: httpx.AsyncClient, conn: Conn, storage: LocalStorage
) -> None:
    user = await create_user(conn)
    assert (await client.post("/api/v1/admin/export/users", json={}, headers=user.headers)).status_code == 403
    admin = await create_platform_user(conn, "admin")
    bad = await client.post(
        "/api/v1/admin/export/users", json={"format": "xlsx", "fields": ["encrypted_password"]}, headers=admin.headers
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"format", "fields.0"}


async def test_expired_exports_are_purged_with_their_files(
    client: httpx.AsyncClient, conn: Conn, db: Database, storage: LocalStorage
) -> None:
    admin = await create_platform_user(conn, "admin")
    response = await client.post("/api/v1/admin/export/users", json={"format": "csv"}, headers=admin.headers)
    assert response.status_code == 200
    await as_owner(conn)
    cur = await conn.execute("select path from public.exports where created_by = %s", (admin.id,))
    row = await cur.fetchone()
    assert row is not None and await storage.exists("exports", row["path"])
    assert await cleanup_tasks.delete_expired_exports(db, get_settings()) == 0  # not expired yet
    await as_owner(conn)
    await conn.execute(
        "update public.exports set expires_at = now() - interval '1 second' where created_by = %s", (admin.id,)
    )
    assert await cleanup_tasks.delete_expired_exports(db, get_settings()) == 1
    assert not await storage.exists("exports", row["path"])
