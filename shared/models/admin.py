"""Platform administration: users, organizations and exports as the admin console sees them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.auth.passwords import check_password, check_username, normalize_email
from shared.models.organizations import OrgRole, check_slug

PlatformRole = Literal["user", "admin", "superadmin"]
ROLE_RANK: dict[str, int] = {"user": 0, "admin": 1, "superadmin": 2}
UserSort = Literal["name", "email", "created_at", "last_sign_in_at"]
ExportField = Literal[
    "id", "email", "full_name", "username", "role", "banned", "email_confirmed_at", "created_at", "last_sign_in_at"
]
DEFAULT_EXPORT_FIELDS: tuple[ExportField, ...] = ("id", "email", "full_name", "role", "created_at")


class UserOrganization(BaseModel):
    id: UUID
    name: str
    slug: str
    role: OrgRole


class AdminUser(BaseModel):
    id: UUID
    email: str
    full_name: str | None
    username: str | None
    role: PlatformRole
    email_confirmed_at: datetime | None
    banned: bool
    banned_until: datetime | None
    ban_reason: str | None
    created_at: datetime | None
    last_sign_in_at: datetime | None
    organizations: list[UserOrganization] = []


class AdminUserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    password: str | None = Field(default=None, max_length=200)
    full_name: str = Field(min_length=1, max_length=100)
    username: str | None = Field(default=None, max_length=30)
    role: PlatformRole = "user"
    email_confirmed: bool = True

    _email = field_validator("email")(normalize_email)
    _username = field_validator("username")(lambda v: None if v is None else check_username(v))
    _password = field_validator("password")(lambda v: None if v is None else check_password(v))


class AdminUserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: PlatformRole | None = None
    banned: bool | None = None
    ban_reason: str | None = Field(default=None, max_length=500)
    ban_expires: datetime | None = None  # with banned=true; none = until lifted

    @model_validator(mode="after")
    def _ban_fields_need_ban(self) -> AdminUserUpdate:
        if self.banned is not True and (self.ban_reason is not None or self.ban_expires is not None):
            raise ValueError("ban_reason and ban_expires go with banned: true")
        if self.ban_expires is not None:
            if self.ban_expires.tzinfo is None:
                raise ValueError("ban_expires needs a time zone")
            if self.ban_expires <= datetime.now(UTC):
                raise ValueError("ban_expires must be in the future")
        return self


class AdminOrganization(BaseModel):
    id: UUID
    name: str
    slug: str
    logo_url: str | None
    metadata: dict[str, Any]
    created_by: UUID | None
    member_count: int
    created_at: datetime
    updated_at: datetime


class AdminOrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    slug: str | None = None
    logo_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] | None = None
    owner_id: UUID | None = None  # who becomes owner; the calling admin when omitted

    _slug = field_validator("slug")(check_slug)


class ExportFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    search: str | None = Field(default=None, max_length=100)
    role: PlatformRole | None = None
    banned: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "json"] = "csv"
    filters: ExportFilters = ExportFilters()
    fields: list[ExportField] = Field(default_factory=lambda: list(DEFAULT_EXPORT_FIELDS))

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("Pick at least one field")
        return list(dict.fromkeys(value))


class ExportResult(BaseModel):
    download_url: str = Field(serialization_alias="downloadUrl")
    filename: str
    size: int
    expires_at: datetime = Field(serialization_alias="expiresAt")
