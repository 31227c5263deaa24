"""A signed-in benchmark user: a live auth.sessions row in the bench database and a real token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from bench.generate import uid
from shared.auth.issuer import build_claims, sign_claims
from shared.auth.principal import Principal
from shared.config import Settings

BENCH_SESSION_ID = "00000000-0000-4000-8000-0000000be4c0"


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


def bench_user(settings: Settings, url: str, n: int = 2) -> BenchUser:
    user_id = uid(n)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into auth.sessions (id, user_id, created_at) values (%s, %s, now()) on conflict (id) do nothing",
            (BENCH_SESSION_ID, user_id),
        )
    claims = build_claims(
        settings=settings,
        user_id=user_id,
        email=f"bench{n}@example.test",
        session_id=BENCH_SESSION_ID,
        ttl_seconds=24 * 3600,
        extra={"user_role": "user"},
    )
    return BenchUser(settings=settings, claims=claims)
