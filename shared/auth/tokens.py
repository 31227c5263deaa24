"""Access token verification: signature (HS256 secret or the project's JWKS), exp, aud, role.

Whether the session is still alive and the user not banned is checked by the database in the
request's own transaction (see shared.db.Database.user_tx), so it costs no extra round trip.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any
from uuid import UUID

from shared.auth.principal import Principal
from shared.config import Settings
from shared.errors import ServiceUnavailable, Unauthorized
from shared.logging import get_logger

if TYPE_CHECKING:
    from jwt import PyJWK

log = get_logger("auth")

_ASYMMETRIC = frozenset({"ES256", "RS256", "EdDSA"})
_REQUIRED = ["exp", "sub", "aud", "iat"]


class JwksCache:
    """The project's public signing keys, fetched on demand and cached.

    An unknown `kid` triggers one refetch (keys rotate), but at most once per `min_refresh_seconds`,
    so a flood of forged kids cannot turn into a flood of fetches.
    """

    def __init__(self, url: str, *, ttl_seconds: float = 600, min_refresh_seconds: float = 30) -> None:
        self.url = url
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        # Imported here: httpx costs ~0.1 s of every cold start, and HS256 projects never fetch keys.
        import httpx
        import jwt

        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(self.url)
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("jwks fetch failed", extra={"error_class": type(exc).__name__})
            if not self._keys:
                raise ServiceUnavailable("Signing keys are unavailable") from exc
            return
        keys: dict[str, PyJWK] = {}
        for entry in document.get("keys", []):
            kid = entry.get("kid")
            if not kid:
                continue
            try:
                keys[kid] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type we cannot use; the others still count
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def get(self, kid: str) -> PyJWK | None:
        age = time.monotonic() - self._fetched_at
        if kid in self._keys and age < self._ttl:
            return self._keys[kid]
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if (kid not in self._keys and age >= self._min_refresh) or age >= self._ttl:
                await self._refresh()
        return self._keys.get(kid)


class TokenVerifier:
    """Verifies access tokens, and remembers the ones it verified for a short while.

    A container serves the same few callers over and over; decoding and checking the same token on
    every request cost ~0.14 ms (a sixth of the framework's whole per-request overhead). Only tokens
    that passed every check are remembered, keyed by the exact token text (signature included), and
    only until the earlier of their `exp` and `cache_seconds` after the check. Sign-out and bans are
    unaffected: the request's transaction checks the session and the ban every time.
    """

    CACHE_SIZE = 1024

    def __init__(self, settings: Settings, jwks: JwksCache | None = None, *, cache_seconds: float = 60.0) -> None:
        secret = settings.supabase_jwt_secret
        self._secret = secret.get_secret_value() if secret else None
        self._audience = settings.jwt_audience
        url = settings.jwks_url
        self._jwks = jwks if jwks is not None else (JwksCache(url) if url else None)
        self._cache_seconds = cache_seconds
        self._verified: dict[str, tuple[Principal, float]] = {}

    async def _key_for(self, header: dict[str, Any]) -> tuple[Any, str]:
        alg = header.get("alg")
        if alg == "HS256":
            if not self._secret:
                raise Unauthorized("Invalid access token")
            return self._secret, alg
        if isinstance(alg, str) and alg in _ASYMMETRIC and self._jwks is not None:
            kid = header.get("kid")
            if not isinstance(kid, str):
                raise Unauthorized("Invalid access token")
            jwk = await self._jwks.get(kid)
            if jwk is None:
                raise Unauthorized("Invalid access token")
            return jwk.key, alg
        # "none", unknown algorithms, or asymmetric tokens with no JWKS configured.
        raise Unauthorized("Invalid access token")

    async def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            principal, valid_until = cached
            if time.time() < valid_until:
                return principal
            del self._verified[token]
        principal = await self._verify(token)
        exp = principal.claims.get("exp")
        valid_until = min(float(exp) if isinstance(exp, int | float) else 0.0, time.time() + self._cache_seconds)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()  # bounded memory; the next requests simply verify again
        self._verified[token] = (principal, valid_until)
        return principal

    async def _verify(self, token: str) -> Principal:
        # Imported on the first token: PyJWT pulls in cryptography (~25 ms of a cold start), and an
        # anonymous request never verifies anything.
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid access token") from exc
        key, alg = await self._key_for(header)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self._audience,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The access token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid access token") from exc
        if claims.get("role") != "authenticated":
            raise Unauthorized("Invalid access token")
        try:
            user_id = UUID(str(claims["sub"]))
            raw_session = claims.get("session_id")
            session_id = UUID(str(raw_session)) if raw_session else None
        except ValueError as exc:
            raise Unauthorized("Invalid access token") from exc
        email = claims.get("email")
        return Principal(
            user_id=user_id,
            session_id=session_id,
            email=email if isinstance(email, str) and email else None,
            claims=claims,
        )
