"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task per request): trace ids, access log,
body size limit, and the last-resort 500 in the envelope."""

from __future__ import annotations

import json
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import AppError, PayloadTooLarge
from shared.logging import get_logger, trace_id_var
from shared.web.envelope import error_body

log = get_logger("http")

_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None


async def _send_error(send: Send, app_error: AppError) -> None:
    body = json.dumps(error_body(app_error.code, app_error.message, app_error.fields)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in app_error.headers.items()]
    await send({"type": "http.response.start", "status": app_error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        trace_id = incoming if incoming and _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = trace_id_var.set(trace_id)
        started = time.perf_counter()
        status_holder = {"status": 500, "started": False}
        too_large = {"hit": False, "replaced": False}

        async def send_with_id(message: Message) -> None:
            if too_large["hit"]:
                # The body went over the limit while the app read it. Frameworks turn an error raised
                # inside receive() into their own answer (FastAPI: 400 "error parsing the body"); the
                # caller must get 413 whatever the app made of it, so its response is replaced.
                if too_large["replaced"] or message["type"] != "http.response.start":
                    return
                too_large["replaced"] = True
                await _send_error(send_with_id_raw, PayloadTooLarge("The request body is too large"))
                return
            await send_with_id_raw(message)

        async def send_with_id_raw(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", trace_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        received = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large["hit"] = True
                    raise PayloadTooLarge("The request body is too large")
            return message

        try:
            declared = _header(scope, b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise PayloadTooLarge("The request body is too large")
            await self.app(scope, limited_receive, send_with_id)
        except Exception as exc:
            if too_large["replaced"]:
                return  # the 413 is already sent; the app's own failure to read the body is expected
            if status_holder["started"]:
                log.error("error after response started", extra={"error_class": type(exc).__name__})
                raise
            app_error = exc if isinstance(exc, AppError) else AppError()
            if not isinstance(exc, AppError):
                log.error("unhandled error", extra={"error_class": type(exc).__name__})
            await _send_error(send_with_id_raw, app_error)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            trace_id_var.reset(token)
