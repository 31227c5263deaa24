"""A signed-in benchmark user: a live auth.sessions row in the bench database and a real token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import psycopg

from bench.generate import uid
from shared.auth.issuer import build_claims, sign_claims
from shared.auth.principal import Principal
from shared.config import Settings

# A typical user: the generator's posters are skewed towards low numbers (user 1 posts ~2% of all
# gigs, user 2 ~0.6%); the user in the middle (50,000 at full scale) posts none or one, like most people.
_typical = 50_000


def set_scale_users(users: int) -> None:
    global _typical
    _typical = max(3, users // 2)


def typical_user() -> int:
    return _typical


@dataclass(frozen=True)
class BenchUser:
    settings: Settings
    claims: dict[str, Any]

    @property
    def token(self) -> str:
        return sign_claims(self.settings, self.claims)

    @property
    def principal(self) -> Principal:
        return Principal(
            user_id=UUID(self.claims["sub"]),
            session_id=UUID(self.claims["session_id"]),
            email=self.claims.get("email"),
            claims=self.claims,
        )


def bench_user(settings: Settings, url: str, n: int | None = None) -> BenchUser:
    n = n or _typical
    user_id = uid(n)
    session_id = str(uuid5(NAMESPACE_URL, f"ugig-bench-session-{n}"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into auth.sessions (id, user_id, created_at) values (%s, %s, now()) on conflict (id) do nothing",
            (session_id, user_id),
        )
    claims = build_claims(
        settings=settings,
        user_id=user_id,
        email=f"bench{n}@example.test",
        session_id=session_id,
        ttl_seconds=24 * 3600,
        extra={"user_role": "user"},
    )
    return BenchUser(settings=settings, claims=claims)
