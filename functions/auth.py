"""Auth actions: sign up, sign in, refresh, sign out, reset and update password."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from mangum import Mangum

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
from shared.services import auth
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import Envelope, ok
from shared.web.rate_limit import RESET_PASSWORD, SIGN_IN, SIGN_UP, rate_limited

router = APIRouter(prefix=API_PREFIX + "/auth", tags=["auth"])


@router.post(
    "/signup", status_code=201, response_model=Envelope[AuthResult], dependencies=[Depends(rate_limited(SIGN_UP))]
)
async def sign_up(body: SignUpRequest, db: Db) -> Any:
    return ok(await auth.sign_up(db, body))


@router.post("/signin", response_model=Envelope[AuthResult], dependencies=[Depends(rate_limited(SIGN_IN))])
async def sign_in(body: SignInRequest, db: Db) -> Any:
    return ok(await auth.sign_in(db, body))


@router.post("/refresh", response_model=Envelope[AuthResult])
async def refresh(body: RefreshRequest, db: Db) -> Any:
    return ok(await auth.refresh(db, body))


@router.post("/signout", response_model=Envelope[Message])
async def sign_out(request: Request, user: CurrentUser, db: Db, body: SignOutRequest | None = None) -> Any:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    return ok(await auth.sign_out(db, user, token, body or SignOutRequest()))


@router.post("/reset-password", response_model=Envelope[Message], dependencies=[Depends(rate_limited(RESET_PASSWORD))])
async def reset_password(body: ResetPasswordRequest, db: Db) -> Any:
    return ok(await auth.reset_password(db, body))


@router.post("/update-password", response_model=Envelope[Message])
async def update_password(body: UpdatePasswordRequest, user: CurrentUser, db: Db) -> Any:
    return ok(await auth.update_password(db, user, body))


app = create_app(router, title="ugig auth")
handler = Mangum(app, lifespan="off")
