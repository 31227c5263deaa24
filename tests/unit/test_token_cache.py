"""The verifier remembers tokens it verified, never ones it refused, and never past their expiry."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from shared.auth import tokens
from shared.auth.tokens import TokenVerifier
from shared.config import get_settings
from shared.errors import Unauthorized


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now,
        "exp": now + 3600,
        "session_id": str(uuid.uuid4()),
        "email": "cache@example.test",
    }
    claims.update(changes)
    return claims


def _sign(claims: dict[str, Any], secret: str | None = None) -> str:
    key = get_settings().supabase_jwt_secret
    assert key is not None
    return jwt.encode(claims, secret or key.get_secret_value(), algorithm="HS256")


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return real(token, *args, **kwargs)

    # PyJWT is imported where tokens are verified (not at import): patch the module itself.
    monkeypatch.setattr(jwt, "decode", counting)
    return calls


async def test_a_verified_token_is_not_decoded_again(decodes: list[str]) -> None:
    verifier = TokenVerifier(get_settings())
    token = _sign(_claims())
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert first == second
    assert decodes == [token]


async def test_a_refused_token_is_refused_every_time(decodes: list[str]) -> None:
    verifier = TokenVerifier(get_settings())
    forged = _sign(_claims(), secret="another-projects-secret-0123456789abcdef")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await verifier.verify(forged)
    assert decodes == [forged, forged]


async def test_a_tampered_copy_of_a_cached_token_is_checked_on_its_own(decodes: list[str]) -> None:
    verifier = TokenVerifier(get_settings())
    token = _sign(_claims())
    await verifier.verify(token)
    header, _, signature = token.split(".")
    payload = jwt.utils.base64url_encode(jwt.api_jws.json.dumps(_claims(role="service_role")).encode()).decode()
    with pytest.raises(Unauthorized):
        await verifier.verify(f"{header}.{payload}.{signature}")


async def test_a_cached_token_expires_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(get_settings())
    now = time.time()
    token = _sign(_claims(exp=int(now) + 30))
    await verifier.verify(token)
    monkeypatch.setattr(tokens.time, "time", lambda: now + 31)
    # PyJWT reads the real clock, so move its view of "now" too: the token is past exp for both.
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime(now + 31))
    with pytest.raises(Unauthorized, match="expired"):
        await verifier.verify(token)


async def test_cache_entries_live_at_most_cache_seconds(decodes: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(get_settings(), cache_seconds=5)
    now = time.time()
    token = _sign(_claims())
    await verifier.verify(token)
    monkeypatch.setattr(tokens.time, "time", lambda: now + 6)
    await verifier.verify(token)
    assert decodes == [token, token]


class _FrozenDatetime:
    """Stands in for the datetime class PyJWT uses for `now`."""

    def __init__(self, at: float) -> None:
        from datetime import UTC, datetime

        self._now = datetime.fromtimestamp(at, tz=UTC)
        self._real = datetime

    def now(self, tz: Any = None) -> Any:
        return self._now

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)
