"""The contract's error codes as exceptions. Services raise these; the web layer maps them in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class AppError(Exception):
    code = "INTERNAL_ERROR"
    status = 500
    default_message = "Something went wrong"

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.fields = {k: list(v) for k, v in fields.items()} if fields else None
        self.headers = dict(headers) if headers else {}
        super().__init__(self.message)


class ValidationFailed(AppError):
    code = "VALIDATION_ERROR"
    status = 400
    default_message = "The request is invalid"

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls(message, fields={name: [message]})


class Unauthorized(AppError):
    code = "UNAUTHORIZED"
    status = 401
    default_message = "Authentication required"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="ugig"'})


class Forbidden(AppError):
    code = "FORBIDDEN"
    status = 403
    default_message = "You are not allowed to do this"


class NotFound(AppError):
    code = "NOT_FOUND"
    status = 404
    default_message = "Not found"


class MethodNotAllowed(AppError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    default_message = "Method not allowed"


class Conflict(AppError):
    code = "CONFLICT"
    status = 409
    default_message = "This conflicts with the current state"


class LimitExceeded(AppError):
    code = "LIMIT_EXCEEDED"
    status = 402
    default_message = "Your plan's limit is reached"


class PayloadTooLarge(AppError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    default_message = "The upload is too large"


class UnsupportedMediaType(AppError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    default_message = "This type of file is not allowed"


class RateLimited(AppError):
    code = "RATE_LIMITED"
    status = 429
    default_message = "Too many requests; try again later"


class ServiceUnavailable(AppError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    default_message = "A service we depend on is unavailable; try again shortly"
