"""Users as the database and the API see them: an auth.users row, a live session, a real token."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from shared.auth.issuer import build_claims, sign_claims
from shared.auth.principal import Principal
from shared.config import get_settings
from shared.db import Conn

_seq = itertools.count(1)


@dataclass
class TestUser:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    id: uuid.UUID
    email: str
    username: str
    session_id: uuid.UUID
    claims: dict[str, Any] = field(repr=False)

    @property
    def token(self) -> str:
        return sign_claims(get_settings(), self.claims)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def principal(self) -> Principal:
        return Principal(user_id=self.id, session_id=self.session_id, email=self.email, claims=self.claims)


async def create_user(
    conn: Conn,
    *,
    email: str | None = None,
    username: str | None = None,
    full_name: str | None = None,
    platform_role: str = "user",
) -> TestUser:
    """Inserts as the connection's owner role (tests' setup step), like GoTrue would."""
    n = next(_seq)
    username = username or f"user{n}_{uuid.uuid4().hex[:6]}"
    email = email or f"{username}@example.test"
    meta = {"username": username, "full_name": full_name or f"Test User {n}"}
    async with conn.transaction():
        await conn.execute("select set_config('role', 'none', true)")
        cur = await conn.execute(
            "insert into auth.users (email, encrypted_password, email_confirmed_at, raw_app_meta_data,"
            " raw_user_meta_data, aud, role) values (%s, null, now(), %s, %s, 'authenticated', 'authenticated')"
            " returning id",
            (email, json.dumps({"provider": "email", "providers": ["email"]}), json.dumps(meta)),
        )
        row = await cur.fetchone()
        assert row is not None
        user_id = row["id"]
        cur = await conn.execute(
            "insert into auth.sessions (id, user_id) values (gen_random_uuid(), %s) returning id", (user_id,)
        )
        srow = await cur.fetchone()
        assert srow is not None
    claims = build_claims(
        settings=get_settings(),
        user_id=user_id,
        email=email,
        session_id=srow["id"],
        user_metadata=meta,
        extra={"user_role": platform_role},
    )
    return TestUser(id=user_id, email=email, username=username, session_id=srow["id"], claims=claims)


@asynccontextmanager
async def acting_as(conn: Conn, who: TestUser | str | None, *, as_api_user: bool = False) -> AsyncIterator[Conn]:
    """Acts exactly as PostgREST would: the role and the JWT claims, in a savepoint rolled back after.

    who: a TestUser (role authenticated, or api_user with as_api_user), "anon" / None, or "service_role".
    """
    if isinstance(who, TestUser):
        role, claims = ("api_user" if as_api_user else "authenticated"), who.claims
    elif who in (None, "anon"):
        role, claims = "anon", {"role": "anon"}
    elif who == "service_role":
        role, claims = "service_role", {"role": "service_role"}
    else:
        raise ValueError(f"unknown actor {who!r}")
    async with conn.transaction(force_rollback=True):
        await conn.execute(
            "select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
            (role, json.dumps(claims)),
        )
        yield conn


async def as_owner(conn: Conn) -> None:
    """Back to the login role (superuser in tests) for setup and assertions."""
    await conn.execute("select set_config('role', 'none', true)")
