"""Annotated dependencies the routes declare: the database, and who is calling.

All async on purpose: FastAPI runs a sync dependency in the threadpool, which costs more than the
work most requests do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.auth.principal import Principal
from shared.auth.tokens import TokenVerifier
from shared.config import get_settings
from shared.db import Database
from shared.errors import Unauthorized


async def get_db(request: Request) -> Database:
    # Created on first use, not at import: a cold start pays for no connection it does not need.
    db: Database | None = getattr(request.app.state, "db", None)
    if db is None:
        db = Database.from_settings(get_settings())
        request.app.state.db = db
    return db


def _verifier(request: Request) -> TokenVerifier:
    # Not a dependency of its own: one level less for FastAPI to solve on every request, and an
    # anonymous request never needs it.
    verifier: TokenVerifier | None = getattr(request.app.state, "verifier", None)
    if verifier is None:
        verifier = TokenVerifier(get_settings())
        request.app.state.verifier = verifier
    return verifier


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use an Authorization: Bearer <access token> header")
    return token.strip()


async def optional_principal(request: Request) -> Principal | None:
    """Public routes: no token is anonymous, but a present and invalid token is 401."""
    token = _bearer(request)
    if token is None:
        return None
    return await _verifier(request).verify(token)


async def required_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized()
    return principal


Db = Annotated[Database, Depends(get_db)]
CurrentUser = Annotated[Principal, Depends(required_principal)]
OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
