"""Profiles over HTTP: created on sign-up, public by username, edited only by their owner, avatars."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from shared.db import Conn
from shared.providers.storage import LocalStorage, set_storage
from tests.factories.users import TestUser, as_owner, create_user
from tests.functional.test_gigs_api import API, error, ok_data


def png_bytes(width: int = 1, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[LocalStorage]:
    local = LocalStorage(tmp_path, "http://testserver", b"test-key")
    set_storage(local)
    yield local
    set_storage(None)


async def test_sign_up_creates_a_profile_with_a_clean_unique_username(conn: Conn) -> None:
    first = await create_user(conn, username="Ada Lovelace!", full_name="Ada Lovelace")
    second = await create_user(conn, username="ada_lovelace")
    await as_owner(conn)
    await conn.execute("insert into auth.users (email, raw_user_meta_data) values ('Grace.Hopper@example.test', '{}')")
    cur = await conn.execute(
        "select id, username, full_name, profile_completed from public.profiles where id = any(%s)"
        " or username like 'grace_hopper%%'",
        ([first.id, second.id],),
    )
    rows = {r["username"]: r for r in await cur.fetchall()}
    assert rows["ada_lovelace"]["id"] == first.id and rows["ada_lovelace"]["full_name"] == "Ada Lovelace"
    [suffixed] = [r for r in rows.values() if r["id"] == second.id]
    assert suffixed["username"].startswith("ada_lovelace_") and len(suffixed["username"]) <= 30
    assert "grace_hopper" in rows  # no username given: from the email's local part
    assert not any(r["profile_completed"] for r in rows.values())


async def test_public_profile_by_username(client: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    await as_owner(conn)
    await conn.execute("update public.profiles set rating_average = 4.5, rating_count = 2 where id = %s", (user.id,))
    profile = ok_data(await client.get(f"{API}/profiles/{user.username}"))
    assert profile["id"] == str(user.id) and profile["rating_average"] == 4.5 and profile["rating_count"] == 2
    assert "email" not in profile
    assert ok_data(await client.get(f"{API}/profiles/{user.username.upper()}"))["id"] == str(user.id)
    error(await client.get(f"{API}/profiles/nobody_here"), 404, "NOT_FOUND")
    error(
        await client.get(f"{API}/profiles/{user.username}", headers={"Authorization": "Bearer x.y.z"}),
        401,
        "UNAUTHORIZED",
    )


async def test_own_profile_edit(client: httpx.AsyncClient, user: TestUser, other_user: TestUser) -> None:
    error(await client.get(f"{API}/profiles/me"), 401, "UNAUTHORIZED")
    error(await client.patch(f"{API}/profiles/me", json={"bio": "x"}), 401, "UNAUTHORIZED")
    me = ok_data(await client.get(f"{API}/profiles/me", headers=user.headers))
    assert me["id"] == str(user.id) and me["profile_completed"] is False

    changes = {
        "full_name": "Sam Builder",
        "bio": "I build agents and automations.",
        "skills": ["Python", "python", "n8n"],
        "ai_tools": ["Claude"],
        "hourly_rate": 85,
        "portfolio_urls": ["https://example.test/work"],
        "location": "Lisbon",
        "timezone": "Europe/Lisbon",
    }
    updated = ok_data(await client.patch(f"{API}/profiles/me", json=changes, headers=user.headers))
    assert updated["skills"] == ["Python", "n8n"] and updated["hourly_rate"] == 85
    assert updated["profile_completed"] is True  # computed from the fields, never sent
    assert ok_data(await client.get(f"{API}/profiles/{user.username}"))["bio"] == changes["bio"]

    err = error(
        await client.patch(
            f"{API}/profiles/me", json={"profile_completed": True, "id": str(other_user.id)}, headers=user.headers
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert set(err["fields"]) == {"profile_completed", "id"}
    err = error(
        await client.patch(
            f"{API}/profiles/me",
            json={"username": "no way!", "skills": None, "hourly_rate": -1, "portfolio_urls": ["javascript:alert(1)"]},
            headers=user.headers,
        ),
        400,
        "VALIDATION_ERROR",
    )
    assert set(err["fields"]) == {"username", "skills", "hourly_rate", "portfolio_urls"}
    err = error(
        await client.patch(f"{API}/profiles/me", json={"username": other_user.username}, headers=user.headers),
        409,
        "CONFLICT",
    )
    assert err["message"] == "This username is taken"

    renamed = ok_data(await client.patch(f"{API}/profiles/me", json={"username": "Sam_Builds"}, headers=user.headers))
    assert renamed["username"] == "sam_builds" and renamed["bio"] == changes["bio"]
    # The other user's profile did not change.
    assert ok_data(await client.get(f"{API}/profiles/{other_user.username}"))["bio"] is None


async def test_availability(client: httpx.AsyncClient, user: TestUser) -> None:
    off = ok_data(
        await client.put(f"{API}/profiles/me/availability", json={"is_available": False}, headers=user.headers)
    )
    assert off["is_available"] is False
    assert ok_data(await client.get(f"{API}/profiles/{user.username}"))["is_available"] is False
    err = error(
        await client.put(f"{API}/profiles/me/availability", json={}, headers=user.headers), 400, "VALIDATION_ERROR"
    )
    assert "is_available" in err["fields"]
    error(await client.put(f"{API}/profiles/me/availability", json={"is_available": True}), 401, "UNAUTHORIZED")


def _stored_path(storage: LocalStorage, url: str) -> str:
    return unquote(url.removeprefix(storage.public_url("avatars", "")))


async def test_avatar_upload_replaces_the_old_one(
    client: httpx.AsyncClient, storage: LocalStorage, user: TestUser
) -> None:
    url = f"{API}/profiles/me/avatar"
    first = ok_data(await client.post(url, files={"file": ("me.png", png_bytes(), "image/png")}, headers=user.headers))
    path1 = _stored_path(storage, first["url"])
    assert path1.startswith(f"{user.id}/avatar-") and path1.endswith(".png")
    assert await storage.exists("avatars", path1)
    assert ok_data(await client.get(f"{API}/profiles/me", headers=user.headers))["avatar_url"] == first["url"]

    # The claimed name and type do not matter: the content does.
    second = ok_data(
        await client.post(
            url, files={"file": ("x.exe", png_bytes(2, 2), "application/x-msdownload")}, headers=user.headers
        )
    )
    path2 = _stored_path(storage, second["url"])
    assert path2 != path1 and await storage.exists("avatars", path2)
    assert not await storage.exists("avatars", path1)  # the old avatar is gone


async def test_avatar_errors(client: httpx.AsyncClient, storage: LocalStorage, user: TestUser) -> None:
    url = f"{API}/profiles/me/avatar"
    error(await client.post(url, files={"file": ("me.png", png_bytes(), "image/png")}), 401, "UNAUTHORIZED")
    error(
        await client.post(url, files={"file": ("me.png", b"<svg onload=alert(1)>", "image/png")}, headers=user.headers),
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    )
    big = png_bytes() + b"\x00" * (5 * 1024 * 1024)
    error(
        await client.post(url, files={"file": ("big.png", big, "image/png")}, headers=user.headers),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    err = error(
        await client.post(url, files={"other": ("me.png", png_bytes(), "image/png")}, headers=user.headers),
        400,
        "VALIDATION_ERROR",
    )
    assert "file" in err["fields"]
    assert ok_data(await client.get(f"{API}/profiles/me", headers=user.headers))["avatar_url"] is None
    assert not any(storage.root.rglob("*.png"))
