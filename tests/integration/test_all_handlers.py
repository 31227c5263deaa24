"""Every deployed function's Lambda handler, called the way API Gateway v2 and EventBridge call it.

Modules are discovered the way functions/app.py finds them, so a new function is covered without
an edit here: each of its routes gets an event built from a recorded API Gateway v2 event, with no
token, and must answer in the contract's envelope (a protected route with the 401 envelope).
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import io
import json
import logging
import pkgutil
import re
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import psycopg
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

import functions
from shared.config import get_settings
from shared.db import Database
from shared.logging import JsonFormatter
from shared.web.deps import required_principal
from tests.conftest import LAMBDA_LOOP, load_event

# The contract's error codes and their statuses (CONTRACT.md, Envelope), plus 405 for a wrong method.
CONTRACT_CODES = {
    "VALIDATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "LIMIT_EXCEEDED": 402,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
    "METHOD_NOT_ALLOWED": 405,
}
SAMPLE_ID = "00000000-0000-4000-8000-000000000000"


def function_modules() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(functions.__path__), key=lambda m: m.name):
        if info.name == "app" or info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"functions.{info.name}"))
    return modules


def routes_of(module: ModuleType) -> list[tuple[str, APIRoute]]:
    return [
        (method, route)
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
        if method != "HEAD"
    ]


def requires_user(dependant: Dependant) -> bool:
    return any(d.call is required_principal or requires_user(d) for d in dependant.dependencies)


def api_gateway_event(method: str, template_path: str, request_id: str) -> dict[str, Any]:
    """The recorded health event, re-aimed: what API Gateway sends for this route, no token."""
    event: dict[str, Any] = copy.deepcopy(load_event("apigw_v2_get_health"))
    path = re.sub(r"\{[^}]+\}", SAMPLE_ID, template_path)
    route_key = f"{method} {template_path.replace(':path}', '+}')}"
    event.update(routeKey=route_key, rawPath=path, rawQueryString="")
    event["headers"] = {**event["headers"], "x-request-id": request_id}
    event["requestContext"].update(routeKey=route_key)
    event["requestContext"]["http"].update(method=method, path=path)
    return event


def assert_envelope(result: dict[str, Any], request_id: str) -> dict[str, Any]:
    status = result["statusCode"]
    headers = {k.lower(): v for k, v in result["headers"].items()}
    assert headers["x-request-id"] == request_id
    assert headers["content-type"].startswith("application/json")
    body: dict[str, Any] = json.loads(result["body"])
    assert body["traceId"] == request_id
    assert body["success"] is (200 <= status < 300), body
    if body["success"]:
        assert "data" in body and "error" not in body
    else:
        error = body["error"]
        assert CONTRACT_CODES[error["code"]] == status, body
        assert isinstance(error["message"], str) and error["message"]
        assert "Traceback" not in result["body"] and "psycopg" not in result["body"]
    return body


@pytest.fixture(scope="module")
def pooled_db(module_db_url: str) -> Iterator[Database]:
    db = Database.from_settings(
        get_settings().model_copy(update={"database_url": module_db_url, "db_pool_min_size": 0})
    )
    yield db
    LAMBDA_LOOP.run_until_complete(db.close())  # the pool's connections belong to the handlers' loop


@pytest.fixture
def wired(pooled_db: Database) -> Iterator[list[ModuleType]]:
    asyncio.set_event_loop(LAMBDA_LOOP)
    modules = function_modules()
    for module in modules:
        module.app.state.db = pooled_db
    yield modules
    for module in modules:
        module.app.state.db = None


ALL_ROUTES = [
    pytest.param(module.__name__, method, route.path, id=f"{module.__name__.split('.')[-1]}:{method} {route.path}")
    for module in function_modules()
    for method, route in routes_of(module)
]


def test_every_function_module_is_a_lambda_with_routes() -> None:
    for module in function_modules():
        assert callable(getattr(module, "handler", None)), f"{module.__name__} has no handler"
        assert routes_of(module), f"{module.__name__} serves no route"


@pytest.mark.parametrize(("module_name", "method", "path"), ALL_ROUTES)
def test_each_route_answers_an_api_gateway_event_in_the_envelope(
    wired: list[ModuleType], module_name: str, method: str, path: str
) -> None:
    module = next(m for m in wired if m.__name__ == module_name)
    route = next(r for m, r in routes_of(module) if m == method and r.path == path)
    request_id = f"rec-{uuid.uuid4().hex[:12]}"

    result = module.handler(api_gateway_event(method, path, request_id), {})

    body = assert_envelope(result, request_id)
    # Never a bug; 503 stays possible (a provider not configured here, e.g. Stripe's webhook secret).
    assert result["statusCode"] != 500, body
    if requires_user(route.dependant):
        assert result["statusCode"] == 401 and body["error"]["code"] == "UNAUTHORIZED", body


def test_a_public_route_answers_200(wired: list[ModuleType]) -> None:
    from functions import gigs

    event = load_event("apigw_v2_get_gigs")
    result = gigs.handler(event, {})
    body = assert_envelope(result, "rec-gigs-0001")
    assert result["statusCode"] == 200
    assert body["data"]["page"] == 1 and body["data"]["limit"] == 5


def test_a_protected_route_without_a_token_answers_401(wired: list[ModuleType]) -> None:
    from functions import gigs

    result = gigs.handler(load_event("apigw_v2_get_me_gigs"), {})
    body = assert_envelope(result, "rec-mygigs-0001")
    assert result["statusCode"] == 401 and body["error"]["code"] == "UNAUTHORIZED"


# ------------------------------------------------------------------------------- the cleanup cron


def _committed_overdue_invitation(url: str) -> uuid.UUID:
    with psycopg.connect(url, autocommit=True) as conn:
        slug = f"org-{uuid.uuid4().hex[:10]}"
        org = conn.execute(
            "insert into public.organizations (name, slug) values (%s, %s) returning id", (slug, slug)
        ).fetchone()
        assert org is not None
        row = conn.execute(
            "insert into public.invitations (organization_id, email, expires_at)"
            " values (%s, %s, now() - interval '1 hour') returning id",
            (org[0], f"{slug}@example.test"),
        ).fetchone()
        assert row is not None
        return uuid.UUID(str(row[0]))


def _status(url: str, invitation_id: uuid.UUID) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("select status from public.invitations where id = %s", (invitation_id,)).fetchone()
        assert row is not None
        return str(row[0])


def test_the_schedule_event_runs_the_whole_job(wired: list[ModuleType], module_db_url: str) -> None:
    from functions import cleanup as cron
    from shared.services import cleanup_tasks as tasks

    overdue = _committed_overdue_invitation(module_db_url)
    event = load_event("schedule_cleanup")
    out = io.StringIO()
    log_handler = logging.StreamHandler(out)
    log_handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("ugig.cleanup")
    level = logger.level
    logger.addHandler(log_handler)
    logger.setLevel(logging.INFO)
    try:
        report = cron.handler(event, {})
    finally:
        logger.removeHandler(log_handler)
        logger.setLevel(level)

    assert report["skipped"] is False
    assert set(report["tasks"]) == {task.name for task in tasks.TASKS}
    assert report["tasks"]["expire_invitations"] == 1
    assert _status(module_db_url, overdue) == "expired"
    (line,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["msg"] == "cleanup finished"
    assert line["tasks"] == report["tasks"]
    assert line["traceId"] == event["id"], "the run's log lines carry the schedule event's id"


def test_the_reminder_schedule_runs_only_the_reminders(wired: list[ModuleType], module_db_url: str) -> None:
    from functions import cleanup as cron

    overdue = _committed_overdue_invitation(module_db_url)

    report = cron.handler(load_event("schedule_call_reminders"), {})

    assert report["skipped"] is False
    assert set(report["tasks"]) == {"send_call_reminders"}
    assert _status(module_db_url, overdue) == "pending"


def test_the_cron_route_through_api_gateway(wired: list[ModuleType]) -> None:
    from functions import cleanup as cron

    event = load_event("apigw_v2_post_cron_cleanup")
    denied = cron.handler(event, {})
    assert denied["statusCode"] == 401
    assert assert_envelope(denied, "rec-cron-0001")["error"]["code"] == "UNAUTHORIZED"

    secret = get_settings().cron_secret
    assert secret is not None
    authorized = copy.deepcopy(event)
    authorized["headers"]["authorization"] = f"Bearer {secret.get_secret_value()}"
    result = cron.handler(authorized, {})
    body = assert_envelope(result, "rec-cron-0001")
    assert result["statusCode"] == 200
    assert body["data"]["skipped"] is False
