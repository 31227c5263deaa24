"""Gigs: the seed's Gig, GigInput and GigFilters, with the limits the database also enforces."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from shared.models.profiles import ProfileSummary, Tag, dedupe

GigStatus = Literal["draft", "active", "paused", "closed", "filled"]
BudgetType = Literal["fixed", "hourly"]
LocationType = Literal["remote", "onsite", "hybrid"]
GigSort = Literal["newest", "budget", "relevance"]
PostedWithin = Literal["day", "week", "month"]

CATEGORY_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
MAX_BUDGET = 10_000_000

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=150)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=10000)]
CategorySlug = Annotated[str, StringConstraints(strip_whitespace=True, max_length=60, pattern=CATEGORY_PATTERN)]
Tags = Annotated[list[Tag], Field(max_length=20)]
Money = Annotated[float, Field(ge=0, le=MAX_BUDGET)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class Gig(BaseModel):
    id: UUID
    poster_id: UUID
    poster: ProfileSummary | None = None
    organization_id: UUID | None
    title: str
    description: str
    category: str
    skills_required: list[str]
    ai_tools_preferred: list[str]
    budget_type: BudgetType
    budget_min: float | None
    budget_max: float | None
    duration: str | None
    location_type: LocationType
    location: str | None
    status: GigStatus
    applications_count: int
    views_count: int
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _check_budget(budget_max: float | None, info: ValidationInfo) -> float | None:
    # Reported on budget_max (declared after budget_min, so budget_min is already in info.data).
    budget_min = info.data.get("budget_min")
    if budget_min is not None and budget_max is not None and budget_min > budget_max:
        raise ValueError("budget_max must not be less than budget_min")
    return budget_max


class GigInput(BaseModel):
    """POST /gigs. A new gig goes live at once unless sent as a draft."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description
    category: CategorySlug
    skills_required: Tags = Field(default_factory=list)
    ai_tools_preferred: Tags = Field(default_factory=list)
    budget_type: BudgetType
    budget_min: Money | None = None
    budget_max: Money | None = None
    duration: ShortText | None = None
    location_type: LocationType = "remote"
    location: Place | None = None
    organization_id: UUID | None = None
    status: Literal["draft", "active"] = "active"

    @field_validator("skills_required", "ai_tools_preferred")
    @classmethod
    def _dedupe(cls, values: list[str]) -> list[str]:
        return dedupe(values)

    @field_validator("budget_max")
    @classmethod
    def _budget(cls, value: float | None, info: ValidationInfo) -> float | None:
        return _check_budget(value, info)


class GigUpdate(BaseModel):
    """PATCH /gigs/{id}: only the fields sent change; status has its own route."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    category: CategorySlug | None = None
    skills_required: Tags | None = None
    ai_tools_preferred: Tags | None = None
    budget_type: BudgetType | None = None
    budget_min: Money | None = None
    budget_max: Money | None = None
    duration: ShortText | None = None
    location_type: LocationType | None = None
    location: Place | None = None

    @field_validator(
        "title",
        "description",
        "category",
        "skills_required",
        "ai_tools_preferred",
        "budget_type",
        "location_type",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("This field cannot be null")
        return value

    @field_validator("skills_required", "ai_tools_preferred")
    @classmethod
    def _dedupe(cls, values: list[str] | None) -> list[str] | None:
        return dedupe(values) if values is not None else None

    @field_validator("budget_max")
    @classmethod
    def _budget(cls, value: float | None, info: ValidationInfo) -> float | None:
        return _check_budget(value, info)


class GigStatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: GigStatus


def _split(value: object) -> object:
    # ?skills=python,openai (the contract's comma list); repeated parameters are accepted too.
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [part.strip() for item in value for part in str(item).split(",") if part.strip()]
    return value


class GigFilters(BaseModel):
    """GET /gigs query: the seed's GigFilters plus organization_id, sort and paging."""

    model_config = ConfigDict(extra="forbid")

    search: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    category: CategorySlug | None = None
    skills: Annotated[list[Tag], Field(max_length=20)] | None = None
    ai_tools: Annotated[list[Tag], Field(max_length=20)] | None = None
    budget_min: Money | None = None
    budget_max: Money | None = None
    location_type: LocationType | None = None
    posted_within: PostedWithin | None = None
    organization_id: UUID | None = None
    sort: GigSort = "newest"
    page: Annotated[int, Field(ge=1, le=10_000)] = 1
    limit: Annotated[int, Field(ge=1, le=100)] = 20

    @field_validator("skills", "ai_tools", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split(value)

    @field_validator("search")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("budget_max")
    @classmethod
    def _budget(cls, value: float | None, info: ValidationInfo) -> float | None:
        return _check_budget(value, info)


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: Annotated[int, Field(ge=1, le=10_000)] = 1
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class MyGigsQuery(PageQuery):
    status: GigStatus | None = None


class SaveResult(BaseModel):
    gig_id: UUID
    saved: bool
