"""The app factory every function uses: one FastAPI app, the contract's envelope for every error."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.collector import resume_collection
from shared.config import get_settings
from shared.errors import AppError, MethodNotAllowed, NotFound, ValidationFailed
from shared.logging import configure_logging
from shared.web.envelope import ERROR_RESPONSES, error_response
from shared.web.middleware import RequestContextMiddleware
from shared.web.rate_limit import InProcessRateLimitMiddleware

API_PREFIX = "/api/v1"
# Attachments are the largest uploads (25 MB); the multipart framing adds a little.
MAX_BODY_BYTES = 26 * 1024 * 1024


def _field_path(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "This field is required"
    if kind == "json_invalid":
        return "The body is not valid JSON"
    if kind == "extra_forbidden":
        return "This field is not allowed"
    msg = str(error.get("msg", "Invalid value"))
    return msg.removeprefix("Value error, ")


def validation_fields(errors: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(_field_path(error.get("loc", ())), []).append(_message(error))
    return fields


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = validation_fields(exc.errors())
    return error_response(ValidationFailed("The request is invalid", fields=fields))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(NotFound("No such route"))
    if exc.status_code == 405:
        return error_response(MethodNotAllowed())
    if exc.status_code == 400:
        return error_response(ValidationFailed(str(exc.detail) if exc.detail else None))
    if exc.status_code == 413:
        from shared.errors import PayloadTooLarge

        return error_response(PayloadTooLarge())
    generic = AppError()
    generic.status = exc.status_code
    return error_response(generic)


class ServiceApp(FastAPI):
    """A FastAPI app serving the routes of the given routers directly, documented as if included.

    `include_router` wraps each router in a layer FastAPI resolves on the first request by building
    every one of its routes a second time (dependencies, response models, and a model per documented
    error status), and walks again on every request; a cold start paid ~15 ms for it. The routes
    built when the routers were declared are served as they are. The OpenAPI document, which is
    where the error envelope of every status is described, is built on first request the usual way
    (routers included with the error responses) by an app that only describes.

    One FastAPI feature does not reach routes served this way: `app.dependency_overrides` (a route
    takes its overrides provider when it is built). The project swaps dependencies through
    `app.state` (the database, the token verifier), never through overrides.
    """

    def __init__(self, routers: Sequence[APIRouter], *, title: str, version: str, docs: bool) -> None:
        self._routers = list(routers)
        self._docs = docs
        super().__init__(
            title=title,
            version=version,
            docs_url="/docs" if docs else None,
            redoc_url=None,
            openapi_url="/openapi.json" if docs else None,
            routes=[route for router in self._routers for route in router.routes],
        )

    def openapi(self) -> dict[str, Any]:
        if not self.openapi_schema:
            described = FastAPI(
                title=self.title,
                version=self.version,
                docs_url="/docs" if self._docs else None,
                redoc_url=None,
                openapi_url="/openapi.json" if self._docs else None,
                responses=ERROR_RESPONSES,
            )
            for router in self._routers:
                described.include_router(router)
            self.openapi_schema = described.openapi()
        return self.openapi_schema


def create_app(*routers: APIRouter, title: str = "ugig", docs: bool = True) -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = ServiceApp(routers, title=title, version=settings.version, docs=docs)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Inner to RequestContextMiddleware, so its 429 gets the envelope and the trace id.
    app.add_middleware(InProcessRateLimitMiddleware)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=MAX_BODY_BYTES)
    resume_collection()  # the function's init is done: see shared/collector.py
    return app
