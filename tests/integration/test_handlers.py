"""Each function's Mangum handler, called the way API Gateway v2 calls it."""

from __future__ import annotations

import json

from tests.conftest import LambdaInvoke, load_event


def test_health_handler_answers_an_api_gateway_v2_event(lambda_invoke: LambdaInvoke) -> None:
    from functions import health

    result = lambda_invoke(health, load_event("apigw_v2_get_health"))
    assert result["statusCode"] == 200
    assert result["headers"]["x-request-id"] == "rec-health-0001"
    body = json.loads(result["body"])
    assert body["success"] is True
    assert body["traceId"] == "rec-health-0001"
    assert body["data"]["database"]["status"] == "connected"
