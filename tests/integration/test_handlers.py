"""Each function's Mangum handler, called the way API Gateway v2 calls it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from shared.config import get_settings
from shared.db import Database
from tests.conftest import load_event


@pytest.fixture
def pooled_db(module_db_url: str) -> Iterator[Database]:
    settings = get_settings().model_copy(update={"database_url": module_db_url, "db_pool_min_size": 0})
    yield Database.from_settings(settings)


def test_health_handler_answers_an_api_gateway_v2_event(pooled_db: Database) -> None:
    from functions import health

    health.app.state.db = pooled_db
    try:
        result = health.handler(load_event("apigw_v2_get_health"), {})
    finally:
        health.app.state.db = None
    assert result["statusCode"] == 200
    assert result["headers"]["x-request-id"] == "rec-health-0001"
    body = json.loads(result["body"])
    assert body["success"] is True
    assert body["traceId"] == "rec-health-0001"
    assert body["data"]["database"]["status"] == "connected"
