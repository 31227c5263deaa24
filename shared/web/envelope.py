"""The contract's response envelope."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared.errors import AppError
from shared.logging import trace_id_var

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: T
    trace_id: str = Field(serialization_alias="traceId")


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorBody
    trace_id: str = Field(serialization_alias="traceId")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    limit: int
    has_more: bool = Field(serialization_alias="hasMore")


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(serialization_alias="nextCursor")
    has_more: bool = Field(serialization_alias="hasMore")


def current_trace_id() -> str:
    return trace_id_var.get() or "-"


def ok(data: T) -> Envelope[T]:
    return Envelope[T](data=data, trace_id=current_trace_id())


def page_of(items: Sequence[T], *, total: int, page: int, limit: int, has_more: bool | None = None) -> Page[T]:
    """has_more defaults to "the total goes past this page"; pass it when the total is an estimate."""
    more = page * limit < total if has_more is None else has_more
    return Page[T](items=list(items), total=total, page=page, limit=limit, has_more=more)


def error_body(
    code: str, message: str, fields: Mapping[str, list[str]] | None = None, data: Any = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields and code == "VALIDATION_ERROR":  # the contract: `fields` on validation errors only
        error["fields"] = dict(fields)
    body: dict[str, Any] = {"success": False, "error": error, "traceId": current_trace_id()}
    if data is not None:
        body["data"] = data
    return body


def error_response(exc: AppError, data: Any = None) -> JSONResponse:
    return JSONResponse(
        error_body(exc.code, exc.message, exc.fields, data),
        status_code=exc.status,
        headers=exc.headers or None,
    )


# OpenAPI: every route documents the error envelope for these statuses.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Validation error"),
        (401, "Missing, invalid or expired token"),
        (403, "Not allowed"),
        (404, "Not found"),
        (429, "Rate limited"),
        (500, "Internal error"),
        (503, "Service unavailable"),
    )
}
