from __future__ import annotations

import httpx

from shared.config import get_settings
from shared.db import Database, PoolSource


async def test_health_reports_connected_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert data["status"] == "healthy"
    assert data["database"]["status"] == "connected"
    assert data["database"]["latency_ms"] >= 0
    assert data["version"] == get_settings().version
    assert data["uptime"] >= 0


async def test_health_is_503_when_the_database_is_down(client: httpx.AsyncClient) -> None:
    from functions.app import app

    settings = get_settings().model_copy(
        update={"database_url": "postgresql://postgres@127.0.0.1:1/none", "db_connect_timeout_seconds": 1.0}
    )
    down = Database.from_settings(settings)
    assert isinstance(down.source, PoolSource)
    app.state.db = down
    try:
        response = await client.get("/api/health")
    finally:
        await down.close()
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["data"]["database"]["status"] == "disconnected"
