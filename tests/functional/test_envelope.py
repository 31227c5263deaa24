"""Every response is in the contract's envelope, with a trace id in the body, the header and the logs."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared.db import Database
from shared.errors import Conflict, LimitExceeded, RateLimited
from shared.logging import JsonFormatter
from shared.web.app import create_app
from shared.web.deps import Db
from shared.web.envelope import ok

router = APIRouter()


class Thing(BaseModel):
    title: str = Field(min_length=1, max_length=20)
    price: int = Field(ge=0)
    tags: list[str] = Field(default_factory=list, max_length=2)


@router.post("/things")
async def create_thing(thing: Thing) -> Any:
    return ok(thing)


@router.get("/things/{thing_id}")
async def get_thing(thing_id: int, limit: int = 10) -> Any:
    return ok({"id": thing_id, "limit": limit})


@router.get("/boom")
async def boom() -> Any:
    raise RuntimeError("secret internals: select * from users")


@router.get("/conflict")
async def conflict() -> Any:
    raise Conflict("Already applied")


@router.get("/limited")
async def limited() -> Any:
    raise RateLimited(headers={"Retry-After": "30"})


@router.get("/limit")
async def limit() -> Any:
    raise LimitExceeded()


@router.get("/db-check")
async def db_check(db: Db) -> Any:
    async with db.user_tx(None) as conn:
        await conn.execute("insert into public.nowhere values (1)")
    return ok(None)


@router.get("/db-value")
async def db_value(db: Db) -> Any:
    async with db.user_tx(None) as conn:
        await conn.execute("select 'abc'::int")
    return ok(None)


@pytest.fixture
async def http(db: Database) -> Any:
    app = create_app(router)
    app.state.db = db
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


async def test_success_envelope_and_trace_id_round_trip(http: httpx.AsyncClient) -> None:
    response = await http.get("/things/7", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"id": 7, "limit": 10}, "traceId": "abc-123"}
    assert response.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 200, "semi;colon", "<script>"])
async def test_insane_request_ids_are_replaced(http: httpx.AsyncClient, incoming: str) -> None:
    response = await http.get("/things/1", headers={"X-Request-ID": incoming})
    trace = response.json()["traceId"]
    assert trace != incoming and len(trace) == 32
    assert response.headers["x-request-id"] == trace


async def test_validation_errors_are_400_with_field_messages(http: httpx.AsyncClient) -> None:
    response = await http.post("/things", json={"title": "", "price": -1, "tags": ["a", "b", "c"]})
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert set(body["error"]["fields"]) == {"title", "price", "tags"}
    assert all(isinstance(m, str) for msgs in body["error"]["fields"].values() for m in msgs)


async def test_missing_field_and_bad_query_and_path(http: httpx.AsyncClient) -> None:
    body = (await http.post("/things", json={"price": 1})).json()
    assert body["error"]["fields"] == {"title": ["This field is required"]}
    body = (await http.get("/things/abc?limit=x")).json()
    assert set(body["error"]["fields"]) == {"thing_id", "limit"}


async def test_invalid_json_body(http: httpx.AsyncClient) -> None:
    response = await http.post("/things", content=b'{"title": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_unknown_route_and_method(http: httpx.AsyncClient) -> None:
    response = await http.get("/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    response = await http.delete("/things/1")
    assert response.status_code == 405 and response.json()["success"] is False


async def test_unhandled_error_is_500_without_internals(http: httpx.AsyncClient) -> None:
    logger = logging.getLogger("ugig")
    handler = logger.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    level, old_stream = logger.level, handler.setStream(stream)
    logger.setLevel(logging.INFO)
    try:
        response = await http.get("/boom", headers={"X-Request-ID": "trace-boom"})
    finally:
        logger.setLevel(level)
        handler.setStream(old_stream)
    assert response.status_code == 500
    assert response.json()["error"] == {"code": "INTERNAL_ERROR", "message": "Something went wrong"}
    assert response.headers["x-request-id"] == "trace-boom"
    assert "select" not in response.text
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert {line["msg"] for line in logged} == {"unhandled error", "request"}
    assert all(line["traceId"] == "trace-boom" for line in logged)
    assert not any("select" in json.dumps(line) for line in logged)


async def test_app_errors_carry_status_code_and_headers(http: httpx.AsyncClient) -> None:
    response = await http.get("/conflict")
    assert response.status_code == 409 and response.json()["error"]["code"] == "CONFLICT"
    response = await http.get("/limited")
    assert response.status_code == 429 and response.headers["retry-after"] == "30"
    response = await http.get("/limit")
    assert response.status_code == 402 and response.json()["error"]["code"] == "LIMIT_EXCEEDED"


async def test_database_errors_are_translated_without_sql(http: httpx.AsyncClient) -> None:
    response = await http.get("/db-check")
    assert response.status_code == 500
    assert "nowhere" not in response.text
    response = await http.get("/db-value")
    assert response.status_code == 400 and "abc" not in response.text


async def test_oversized_body_is_413(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/things", content=b"x" * (27 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_json_formatter_drops_tracebacks() -> None:
    try:
        raise ValueError("password=hunter2")
    except ValueError:
        import sys

        record = logging.LogRecord("ugig.x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["exception"] == "ValueError"
    assert "hunter2" not in json.dumps(line)


@router.get("/conflict-with-field")
async def conflict_with_field() -> Any:
    raise Conflict("This person is already a member", fields={"email": ["This person is already a member"]})


async def test_fields_appear_on_validation_errors_only(http: httpx.AsyncClient) -> None:
    response = await http.get("/conflict-with-field")
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "CONFLICT", "message": "This person is already a member"}
