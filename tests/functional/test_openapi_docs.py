"""The OpenAPI document: every operation of every function describes the error envelope of each error
status, and each function's own document lists its own routes. The apps serve their routers' routes
directly (not through include_router), so the error responses are added where the document is built."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import functions
from shared.web.envelope import ERROR_RESPONSES

ERROR_STATUSES = sorted(str(status) for status in ERROR_RESPONSES)
METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _function_apps() -> list[tuple[str, FastAPI]]:
    apps = []
    for info in sorted(pkgutil.iter_modules(functions.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"functions.{info.name}")
        app = getattr(module, "app", None)
        if info.name != "app" and isinstance(app, FastAPI):
            apps.append((info.name, app))
    return apps


def _assert_error_envelopes(schema: dict[str, Any]) -> None:
    operations = _operations(schema)
    assert operations
    for path, method, operation in operations:
        responses = operation["responses"]
        for status in ERROR_STATUSES:
            assert status in responses, (method, path, status)
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/ErrorEnvelope", (method, path, status)
        assert any(code.startswith("2") for code in responses), (method, path)
    envelope = schema["components"]["schemas"]["ErrorEnvelope"]
    assert {"success", "error", "traceId"} <= set(envelope["properties"])


def test_composed_app_documents_the_error_envelope_on_every_operation() -> None:
    from functions.app import app

    schema = app.openapi()
    _assert_error_envelopes(schema)
    paths = set(schema["paths"])
    for name, function_app in _function_apps():
        own = set(function_app.openapi()["paths"])
        assert own <= paths, name


@pytest.mark.parametrize("name", [name for name, _ in _function_apps()])
def test_each_function_documents_its_own_routes_with_error_envelopes(name: str) -> None:
    app = dict(_function_apps())[name]
    schema = app.openapi()
    _assert_error_envelopes(schema)
    served = {
        (route.path, method.lower())
        for route in app.routes
        if getattr(route, "include_in_schema", False)
        for method in getattr(route, "methods", set())
        if method.lower() in METHODS
    }
    assert {(path, method) for path, method, _ in _operations(schema)} == served


async def test_openapi_json_is_served_and_matches_the_document() -> None:
    from functions import gigs

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gigs.app), base_url="http://t") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    body = response.json()
    assert body == gigs.app.openapi()
    assert "/api/v1/gigs/{gig_id}" in body["paths"]
    assert "/api/v1/applications" not in body["paths"]
