"""Access tokens with GoTrue's claims, signed with the project's HS256 secret (local auth, `ugig token`)."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import jwt

from shared.config import Settings


def build_claims(
    *,
    settings: Settings,
    user_id: UUID | str,
    email: str | None,
    session_id: UUID | str,
    app_metadata: dict[str, Any] | None = None,
    user_metadata: dict[str, Any] | None = None,
    ttl_seconds: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    now = int(time.time())
    ttl = ttl_seconds if ttl_seconds is not None else settings.access_token_ttl_seconds
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "sub": str(user_id),
        "aud": settings.jwt_audience,
        "exp": now + ttl,
        "iat": now,
        "email": email or "",
        "phone": "",
        "app_metadata": app_metadata or {"provider": "email", "providers": ["email"]},
        "user_metadata": user_metadata or {},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(session_id),
        "is_anonymous": False,
    }
    if extra:
        claims.update(extra)
    return claims


def sign_claims(settings: Settings, claims: dict[str, Any]) -> str:
    assert settings.supabase_jwt_secret is not None
    return jwt.encode(claims, settings.supabase_jwt_secret.get_secret_value(), algorithm="HS256")


def issue_access_token(
    *,
    settings: Settings,
    user_id: UUID | str,
    email: str | None,
    session_id: UUID | str,
    app_metadata: dict[str, Any] | None = None,
    user_metadata: dict[str, Any] | None = None,
    ttl_seconds: int | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """Returns (token, expires_at as a unix timestamp)."""
    claims = build_claims(
        settings=settings,
        user_id=user_id,
        email=email,
        session_id=session_id,
        app_metadata=app_metadata,
        user_metadata=user_metadata,
        ttl_seconds=ttl_seconds,
        extra=extra,
    )
    return sign_claims(settings, claims), int(claims["exp"])
