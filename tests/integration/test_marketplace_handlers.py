"""The marketplace functions' Mangum handlers, called the way API Gateway v2 calls them, on seed data."""

from __future__ import annotations

import copy
import json
from typing import Any

from devtools.migrate import apply_seed
from tests.conftest import LambdaInvoke, load_event


def _event(method: str, path: str, query: str = "") -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(load_event("apigw_v2_get_health"))
    event["routeKey"] = f"{method} {path}"
    event["rawPath"] = path
    event["rawQueryString"] = query
    event["requestContext"]["http"].update({"method": method, "path": path})
    event["headers"]["x-request-id"] = "rec-marketplace-0001"
    return event


def test_gigs_categories_and_profiles_handlers(module_db_url: str, lambda_invoke: LambdaInvoke) -> None:
    from functions import categories, gigs, profiles

    apply_seed(module_db_url)

    result = lambda_invoke(gigs, _event("GET", "/api/v1/gigs", "search=chatbot&sort=relevance&limit=5"))
    assert result["statusCode"] == 200 and result["headers"]["x-request-id"] == "rec-marketplace-0001"
    page = json.loads(result["body"])["data"]
    assert page["total"] > 0 and all(g["status"] == "active" for g in page["items"])
    assert all(g["poster"]["username"] for g in page["items"])

    result = lambda_invoke(categories, _event("GET", "/api/v1/categories"))
    assert result["statusCode"] == 200
    assert "ai-development" in {c["slug"] for c in json.loads(result["body"])["data"]}

    result = lambda_invoke(profiles, _event("GET", "/api/v1/profiles/priya_sharma"))
    assert result["statusCode"] == 200 and json.loads(result["body"])["data"]["hourly_rate"] == 95

    result = lambda_invoke(gigs, _event("POST", "/api/v1/gigs"))
    assert result["statusCode"] == 401
    assert json.loads(result["body"])["error"]["code"] == "UNAUTHORIZED"
