"""Profiles: the seed's Profile, the public summary embedded in gigs and applications, and inputs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

USERNAME_PATTERN = r"^[a-z0-9_]{3,30}$"

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def check_urls(values: list[str]) -> list[str]:
    for value in values:
        if not _URL.match(value):
            raise ValueError("Each URL must start with http:// or https://")
    return values


def dedupe(values: list[str]) -> list[str]:
    """Keeps the first spelling of each tag, case-insensitively, in order."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        key = value.lower()
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


class ProfileSummary(BaseModel):
    """What a gig or an application shows of a person."""

    id: UUID
    username: str
    full_name: str | None
    avatar_url: str | None
    rating_average: float = 0
    rating_count: int = 0


class Profile(BaseModel):
    id: UUID
    username: str
    full_name: str | None
    avatar_url: str | None
    bio: str | None
    skills: list[str]
    ai_tools: list[str]
    hourly_rate: float | None
    portfolio_urls: list[str]
    location: str | None
    timezone: str | None
    is_available: bool
    profile_completed: bool
    rating_average: float
    rating_count: int
    created_at: datetime
    updated_at: datetime


class ProfileUpdate(BaseModel):
    """PATCH /profiles/me: only the fields sent change. profile_completed is computed, never sent."""

    model_config = ConfigDict(extra="forbid")

    username: str | None = None
    full_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    bio: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    skills: Annotated[list[Tag], Field(max_length=30)] | None = None
    ai_tools: Annotated[list[Tag], Field(max_length=30)] | None = None
    hourly_rate: Annotated[float, Field(ge=0, le=100000)] | None = None
    portfolio_urls: Annotated[list[Url], Field(max_length=10)] | None = None
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    is_available: bool | None = None

    @field_validator("username", "skills", "ai_tools", "portfolio_urls", "is_available", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("This field cannot be null")
        return value

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if not re.fullmatch(USERNAME_PATTERN, value):
            raise ValueError("Use 3 to 30 letters, digits or underscores")
        return value

    @field_validator("skills", "ai_tools")
    @classmethod
    def _dedupe(cls, values: list[str] | None) -> list[str] | None:
        return dedupe(values) if values is not None else None

    @field_validator("portfolio_urls")
    @classmethod
    def _urls(cls, values: list[str] | None) -> list[str] | None:
        return check_urls(values) if values is not None else None

    @field_validator("full_name", "bio", "location", "timezone")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class AvailabilityUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_available: bool


class AvatarResult(BaseModel):
    url: str
