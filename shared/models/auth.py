"""Auth actions: requests and answers (field names follow GoTrue's session and user)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.auth.passwords import check_password, check_username, normalize_email


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignUpRequest(_Request):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)
    username: str = Field(max_length=30)
    full_name: str = Field(min_length=1, max_length=100)

    _email = field_validator("email")(normalize_email)
    _password = field_validator("password")(check_password)
    _username = field_validator("username")(check_username)

    @field_validator("full_name")
    @classmethod
    def _full_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("Enter your name")
        return value


class SignInRequest(_Request):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=200)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return value.strip().lower()


class RefreshRequest(_Request):
    refresh_token: str = Field(min_length=1, max_length=255)


class SignOutRequest(_Request):
    scope: Literal["local", "global", "others"] = "local"


class ResetPasswordRequest(_Request):
    email: str = Field(min_length=1, max_length=254)

    _email = field_validator("email")(normalize_email)


class UpdatePasswordRequest(_Request):
    password: str = Field(max_length=200)

    _password = field_validator("password")(check_password)


class AuthUser(BaseModel):
    id: UUID
    email: str
    username: str | None = None
    full_name: str | None = None
    role: str = "user"
    email_confirmed_at: datetime | None = None
    created_at: datetime | None = None
    last_sign_in_at: datetime | None = None


class Session(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    expires_at: int


class AuthResult(BaseModel):
    user: AuthUser
    session: Session | None = None


class Message(BaseModel):
    message: str
