"""Postgres errors to the contract's errors, in one place.

Triggers and functions raise with our own SQLSTATEs (`raise exception using errcode = 'UG409',
message = '...', column = 'status'`): the message is written for users; `column` names the field.
Anything else gets a generic message: Postgres' own texts can quote SQL and values.
"""

from __future__ import annotations

import psycopg

from shared.errors import (
    AppError,
    Conflict,
    Forbidden,
    LimitExceeded,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from shared.logging import get_logger

log = get_logger("db")

_OURS: dict[str, type[AppError]] = {
    "UG400": ValidationFailed,
    "UG402": LimitExceeded,
    "UG403": Forbidden,
    "UG404": NotFound,
    "UG409": Conflict,
    "UG413": PayloadTooLarge,
    "UG415": UnsupportedMediaType,
}

_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")  # connection, resources, operator intervention, system


def _field_from_check(constraint: str | None, table: str | None) -> str | None:
    # Postgres names column checks "<table>_<column>_check"; we keep that convention.
    if not constraint or not table or not constraint.startswith(table + "_"):
        return None
    name = constraint[len(table) + 1 :]
    return name.removesuffix("_check") or None


def translate_db_error(exc: psycopg.Error) -> AppError:
    diag = exc.diag
    state = exc.sqlstate or ""
    if state in _OURS:
        message = diag.message_primary or None
        column = diag.column_name
        cls = _OURS[state]
        if cls is ValidationFailed and column and message:
            return ValidationFailed(message, fields={column: [message]})
        return cls(message)
    if state == "23505":
        return Conflict("This already exists")
    if state == "23503":
        return NotFound("A referenced record does not exist")
    if state == "23514":
        field = _field_from_check(diag.constraint_name, diag.table_name)
        message = "This value is not allowed"
        return ValidationFailed(message, fields={field: [message]} if field else None)
    if state == "23502":
        column = diag.column_name
        return ValidationFailed("A required value is missing", fields={column: ["Required"]} if column else None)
    if state.startswith("22"):
        return ValidationFailed("A value has the wrong format or is out of range")
    if not state and isinstance(exc, psycopg.DataError):
        # Refused by psycopg before reaching the server: a value Postgres cannot hold, such as a NUL
        # character in text. Bad input, not an outage.
        return ValidationFailed("Text must not contain NUL (\\u0000) characters")
    if state == "42501":
        return Forbidden()
    if state in ("40001", "40P01", "55P03"):
        return ServiceUnavailable("The request collided with another one; retry it")
    if state == "57014":
        return ServiceUnavailable("The database took too long to answer")
    if isinstance(exc, psycopg.OperationalError) or state.startswith(_UNAVAILABLE_CLASSES) or not state:
        return ServiceUnavailable("The database is not reachable right now")
    log.error("unexpected database error", extra={"sqlstate": state, "error_class": type(exc).__name__})
    return AppError()
