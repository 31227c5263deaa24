"""Blob storage: Supabase Storage in production, a local folder for local runs and tests.

Paths are built by the services (always under the owner's id prefix); callers never pass a user's
file name as a path.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from shared.config import Settings, get_settings
from shared.errors import ServiceUnavailable, ValidationFailed

PUBLIC_BUCKETS = frozenset({"avatars"})


class BlobStorage(Protocol):
    async def put(self, bucket: str, path: str, data: bytes, content_type: str, *, upsert: bool = True) -> None: ...

    async def delete(self, bucket: str, paths: list[str]) -> None: ...

    def public_url(self, bucket: str, path: str) -> str: ...

    async def signed_url(self, bucket: str, path: str, expires_in: int) -> str: ...

    async def exists(self, bucket: str, path: str) -> bool: ...


def _check_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in path:
        raise ValidationFailed("Invalid storage path")
    return path


class LocalStorage:
    """Files under a folder; signed URLs carry an HMAC over bucket, path and expiry."""

    def __init__(self, root: Path, base_url: str, signing_key: bytes) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")
        self._key = signing_key

    def _file(self, bucket: str, path: str) -> Path:
        return self.root / _check_path(bucket) / _check_path(path)

    async def put(self, bucket: str, path: str, data: bytes, content_type: str, *, upsert: bool = True) -> None:
        target = self._file(bucket, path)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() and not upsert:
                raise ValidationFailed("A file already exists at this path")
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
            target.with_name(target.name + ".type").write_text(content_type)

        await asyncio.to_thread(write)

    async def delete(self, bucket: str, paths: list[str]) -> None:
        def remove() -> None:
            for path in paths:
                for file in (self._file(bucket, path), self._file(bucket, path + ".type")):
                    file.unlink(missing_ok=True)

        await asyncio.to_thread(remove)

    async def exists(self, bucket: str, path: str) -> bool:
        return await asyncio.to_thread(self._file(bucket, path).is_file)

    def read(self, bucket: str, path: str) -> tuple[bytes, str]:
        file = self._file(bucket, path)
        type_file = file.with_name(file.name + ".type")
        content_type = type_file.read_text() if type_file.exists() else "application/octet-stream"
        return file.read_bytes(), content_type

    def public_url(self, bucket: str, path: str) -> str:
        return f"{self.base_url}/storage/v1/object/public/{bucket}/{quote(path)}"

    def _signature(self, bucket: str, path: str, expires: int) -> str:
        message = f"{bucket}/{path}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    async def signed_url(self, bucket: str, path: str, expires_in: int) -> str:
        expires = int(time.time()) + expires_in
        token = self._signature(bucket, _check_path(path), expires)
        return f"{self.base_url}/storage/v1/object/sign/{bucket}/{quote(path)}?expires={expires}&token={token}"

    def verify_signature(self, bucket: str, path: str, expires: int, token: str) -> bool:
        if expires < time.time():
            return False
        return hmac.compare_digest(self._signature(bucket, path, expires), token)


class SupabaseStorage:
    """Supabase Storage through the official client (storage3), created on first use."""

    def __init__(self, url: str, service_role_key: str) -> None:
        self._url = url.rstrip("/")
        self._key = service_role_key
        self._client: Any = None

    async def _bucket(self, bucket: str) -> Any:
        if self._client is None:
            from supabase import acreate_client  # heavy import: only when storage is first used

            self._client = await acreate_client(self._url, self._key)
        return self._client.storage.from_(bucket)

    async def put(self, bucket: str, path: str, data: bytes, content_type: str, *, upsert: bool = True) -> None:
        store = await self._bucket(bucket)
        try:
            await store.upload(
                _check_path(path), data, {"content-type": content_type, "upsert": "true" if upsert else "false"}
            )
        except Exception as exc:
            raise ServiceUnavailable("File storage is unavailable") from exc

    async def delete(self, bucket: str, paths: list[str]) -> None:
        if not paths:
            return
        store = await self._bucket(bucket)
        try:
            await store.remove(paths)
        except Exception as exc:
            raise ServiceUnavailable("File storage is unavailable") from exc

    async def exists(self, bucket: str, path: str) -> bool:
        store = await self._bucket(bucket)
        try:
            return bool(await store.exists(path))
        except Exception:
            return False

    def public_url(self, bucket: str, path: str) -> str:
        return f"{self._url}/storage/v1/object/public/{bucket}/{quote(path)}"

    async def signed_url(self, bucket: str, path: str, expires_in: int) -> str:
        store = await self._bucket(bucket)
        try:
            result = await store.create_signed_url(path, expires_in)
        except Exception as exc:
            raise ServiceUnavailable("File storage is unavailable") from exc
        return str(result.get("signedURL") or result.get("signedUrl"))


_storage: BlobStorage | None = None


def get_storage(settings: Settings | None = None) -> BlobStorage:
    global _storage
    if _storage is None:
        settings = settings or get_settings()
        if settings.storage_backend == "supabase":
            assert settings.supabase_url and settings.supabase_service_role_key
            _storage = SupabaseStorage(settings.supabase_url, settings.supabase_service_role_key.get_secret_value())
        else:
            assert settings.supabase_jwt_secret is not None
            key = hashlib.sha256(b"local-storage:" + settings.supabase_jwt_secret.get_secret_value().encode()).digest()
            _storage = LocalStorage(Path(settings.local_storage_dir).resolve(), settings.app_base_url, key)
    return _storage


def set_storage(storage: BlobStorage | None) -> None:
    """Tests point the app at their own folder."""
    global _storage
    _storage = storage
