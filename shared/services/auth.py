"""Auth actions: validation is in the models; the backend (GoTrue or local) does the work."""

from __future__ import annotations

from shared.auth.principal import Principal
from shared.db import Database
from shared.models.auth import (
    AuthResult,
    Message,
    RefreshRequest,
    ResetPasswordRequest,
    SignInRequest,
    SignOutRequest,
    SignUpRequest,
    UpdatePasswordRequest,
)
from shared.providers.auth_backend import get_auth_backend

RESET_MESSAGE = "If an account exists for this email, we have sent a link to reset the password."


async def sign_up(db: Database, body: SignUpRequest) -> AuthResult:
    return await get_auth_backend(db).sign_up(body.email, body.password, body.username, body.full_name)


async def sign_in(db: Database, body: SignInRequest) -> AuthResult:
    return await get_auth_backend(db).sign_in(body.email, body.password)


async def refresh(db: Database, body: RefreshRequest) -> AuthResult:
    return await get_auth_backend(db).refresh(body.refresh_token)


async def sign_out(db: Database, principal: Principal, access_token: str, body: SignOutRequest) -> Message:
    await get_auth_backend(db).sign_out(principal, access_token, body.scope)
    return Message(message="Signed out")


async def reset_password(db: Database, body: ResetPasswordRequest) -> Message:
    await get_auth_backend(db).reset_password(body.email)
    return Message(message=RESET_MESSAGE)


async def update_password(db: Database, principal: Principal, body: UpdatePasswordRequest) -> Message:
    await get_auth_backend(db).update_password(principal, body.password)
    return Message(message="Password updated")
