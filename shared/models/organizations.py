"""Organizations (workspaces), members and invitations."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.auth.passwords import normalize_email

SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
OrgRole = Literal["owner", "admin", "member"]
InviteRole = Literal["admin", "member"]


def check_slug(value: str | None) -> str | None:
    if value is None:
        return None
    if not 2 <= len(value) <= 50 or not SLUG_RE.match(value):
        raise ValueError("Use 2 to 50 lower-case letters, digits and single hyphens")
    return value


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-")
    return slug if len(slug) >= 2 else f"org-{slug}".strip("-")


def _check_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None and len(str(value)) > 8000:
        raise ValueError("Metadata is too large")
    return value


def _check_logo(value: str | None) -> str | None:
    if value is not None and not value.startswith("https://") and not value.startswith("http://"):
        raise ValueError("Use an http(s) URL")
    return value


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    slug: str | None = None
    logo_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] | None = None

    _slug = field_validator("slug")(check_slug)
    _metadata = field_validator("metadata")(_check_metadata)
    _logo = field_validator("logo_url")(_check_logo)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Enter a name")
        return value.strip()


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    slug: str | None = None
    logo_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] | None = None

    _slug = field_validator("slug")(check_slug)
    _metadata = field_validator("metadata")(_check_metadata)
    _logo = field_validator("logo_url")(_check_logo)


class Organization(BaseModel):
    id: UUID
    name: str
    slug: str
    logo_url: str | None
    metadata: dict[str, Any]
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    role: OrgRole | None = None  # the caller's role in it
    member_count: int = 0


class Member(BaseModel):
    user_id: UUID
    role: OrgRole
    created_at: datetime
    email: str | None = None
    username: str | None = None
    full_name: str | None = None


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: OrgRole


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    role: InviteRole = "member"
    message: str | None = Field(default=None, max_length=1000)

    _email = field_validator("email")(normalize_email)


class Invitation(BaseModel):
    id: UUID
    organization_id: UUID
    email: str
    role: InviteRole
    message: str | None
    invited_by: UUID | None
    status: Literal["pending", "accepted", "declined", "revoked", "expired"]
    expires_at: datetime
    responded_at: datetime | None
    created_at: datetime


class OrgCategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    slug: str | None = None
    description: str | None = Field(default=None, max_length=500)
    sort_order: int = Field(default=0, ge=-100000, le=100000)

    _slug = field_validator("slug")(check_slug)


class OrgCategoryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=80)
    slug: str | None = None
    description: str | None = Field(default=None, max_length=500)
    sort_order: int | None = Field(default=None, ge=-100000, le=100000)

    _slug = field_validator("slug")(check_slug)
