"""Health of the process and its database."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel

from shared.config import Settings
from shared.db import Database
from shared.errors import ServiceUnavailable

_STARTED = time.monotonic()


class DatabaseHealth(BaseModel):
    status: Literal["connected", "disconnected"]
    latency_ms: float | None


class Health(BaseModel):
    status: Literal["healthy", "unhealthy"]
    version: str
    environment: str
    uptime: float
    database: DatabaseHealth


async def check(db: Database, settings: Settings) -> Health:
    try:
        latency: float | None = round(await db.ping(), 2)
        database = DatabaseHealth(status="connected", latency_ms=latency)
    except ServiceUnavailable:
        database = DatabaseHealth(status="disconnected", latency_ms=None)
    return Health(
        status="healthy" if database.status == "connected" else "unhealthy",
        version=settings.version,
        environment=settings.ugig_env,
        uptime=round(time.monotonic() - _STARTED, 3),
        database=database,
    )
