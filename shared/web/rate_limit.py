"""Rate limits per route group and per caller (user id, else client IP).

Two layers, on purpose:
- Strict groups (sign-in, sign-up, reset-password, admin user listing) are counted in Postgres with
  one atomic upsert (`private.hit_rate_limit`), so the limit holds across every running Lambda. The
  hit is its own short transaction, committed before the route's work: a failed sign-in must still
  count, and the route's transaction would roll the hit back with the failure.
- Everything else gets a generous per-container in-process limit (no database round trip). It does
  not hold across containers; it exists to blunt a single client hammering one container cheaply.
  The request-overhead budget (issue 8: < 3x a bare transaction) rules out a second transaction per
  request, and the strict groups are where a shared limit matters.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import Depends, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth.principal import Principal
from shared.config import get_settings
from shared.db import Database
from shared.errors import RateLimited
from shared.web.deps import get_db, optional_principal


@dataclass(frozen=True)
class Limit:
    group: str
    max_requests: int
    window_seconds: int
    per: Literal["ip", "user"]


SIGN_IN = Limit("signin", 5, 15 * 60, "ip")
SIGN_UP = Limit("signup", 3, 60 * 60, "ip")
RESET_PASSWORD = Limit("reset-password", 3, 60 * 60, "ip")
ADMIN_USER_LIST = Limit("admin-users", 100, 60 * 60, "user")
DEFAULT = Limit("default", 600, 60, "ip")


# Parsing addresses is most of this module's per-request cost, and a container sees the same few
# peers and clients again and again: both answers are cached (bounded, so a flood of made-up
# forwarded addresses only evicts).
@lru_cache(maxsize=4096)
def _is_internal(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # "testclient", unix sockets: not a real client address
    return address.is_loopback or address.is_private


@lru_cache(maxsize=4096)
def _canonical_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(scope: Scope) -> str:
    """The caller's address: API Gateway's sourceIp (Mangum puts it in the scope's client). Only behind
    a local proxy (internal client address) is X-Forwarded-For's first hop trusted: anywhere else a
    client could write that header itself and pick a fresh bucket per request."""
    client = scope.get("client")
    host = str(client[0]) if client else ""
    if not host or _is_internal(host):
        for key, value in scope.get("headers", ()):
            if key == b"x-forwarded-for":
                first = value.decode("latin-1").split(",")[0].strip()
                if first:
                    canonical = _canonical_ip(first)
                    if canonical is None:
                        break
                    return canonical
    return host or "unknown"


@dataclass(frozen=True)
class RateState:
    limit: int
    allowed: bool
    remaining: int
    reset_at: float  # unix time

    def headers(self) -> dict[str, str]:
        reset = max(0, math.ceil(self.reset_at - time.time()))
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, reset))
        return headers


async def hit(db: Database, limit: Limit, subject: str) -> RateState:
    """One committed hit on the shared counter for (group, subject)."""
    key = f"{limit.group}:{subject}"
    async with db.service_tx() as conn:
        cur = await conn.execute(
            "select allowed, remaining, reset_at from private.hit_rate_limit(%s, %s, %s)",
            (key, limit.window_seconds, limit.max_requests),
        )
        row = await cur.fetchone()
    assert row is not None
    reset_at: datetime = row["reset_at"]
    return RateState(limit.max_requests, bool(row["allowed"]), int(row["remaining"]), reset_at.timestamp())


def rate_limited(limit: Limit) -> Callable[..., Awaitable[None]]:
    """A route dependency: counts the request against `limit` and refuses it with 429 once over."""

    async def dependency(
        request: Request,
        response: Response,
        db: Annotated[Database, Depends(get_db)],
        principal: Annotated[Principal | None, Depends(optional_principal)],
    ) -> None:
        if limit.per == "user" and principal is not None:
            subject = f"user:{principal.user_id}"
        else:
            subject = f"ip:{client_ip(request.scope)}"
        state = await hit(db, limit, subject)
        if not state.allowed:
            raise RateLimited(headers=state.headers())
        response.headers.update(state.headers())

    return dependency


class InProcessRateLimitMiddleware:
    """The default limit: a fixed-window counter per client IP inside this container."""

    def __init__(self, app: ASGIApp, *, limit: Limit = DEFAULT, enabled: bool | None = None) -> None:
        self.app = app
        self.limit = limit
        # The test suite drives thousands of requests from one address; its own tests enable this.
        self.enabled = get_settings().ugig_env != "test" if enabled is None else enabled
        self._window = 0
        self._counts: dict[str, int] = {}

    def _take(self, ip: str, now: float) -> RateState:
        window = int(now // self.limit.window_seconds)
        if window != self._window:
            self._window = window
            self._counts = {}  # a new window forgets everyone: memory stays bounded by one window's callers
        count = self._counts.get(ip, 0) + 1
        self._counts[ip] = count
        reset_at = (window + 1) * self.limit.window_seconds
        remaining = max(0, self.limit.max_requests - count)
        return RateState(self.limit.max_requests, count <= self.limit.max_requests, remaining, reset_at)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http" or scope.get("path") == "/api/health":
            await self.app(scope, receive, send)
            return
        state = self._take(client_ip(scope), time.time())
        if not state.allowed:
            raise RateLimited(headers=state.headers())
        await self.app(scope, receive, send)
