"""Applications: the seed's Application and ApplicationInput, status changes one by one or in bulk."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.models.gigs import Gig, Money, PageQuery
from shared.models.profiles import ProfileSummary, Tag, Url, check_urls, dedupe

ApplicationStatus = Literal["pending", "reviewing", "shortlisted", "rejected", "accepted", "withdrawn"]


class Application(BaseModel):
    id: UUID
    gig_id: UUID
    gig: Gig | None = None
    applicant_id: UUID
    applicant: ProfileSummary | None = None
    cover_letter: str
    proposed_rate: float | None
    proposed_timeline: str | None
    portfolio_items: list[str]
    ai_tools_to_use: list[str]
    status: ApplicationStatus
    created_at: datetime
    updated_at: datetime


class ApplicationInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gig_id: UUID
    cover_letter: Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=5000)]
    proposed_rate: Money | None = None
    proposed_timeline: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    portfolio_items: Annotated[list[Url], Field(max_length=20)] = Field(default_factory=list)
    ai_tools_to_use: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)

    @field_validator("portfolio_items")
    @classmethod
    def _urls(cls, values: list[str]) -> list[str]:
        return check_urls(values)

    @field_validator("ai_tools_to_use")
    @classmethod
    def _dedupe(cls, values: list[str]) -> list[str]:
        return dedupe(values)


class ApplicationStatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ApplicationStatus


class BulkStatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: Annotated[list[UUID], Field(min_length=1, max_length=100)]
    status: ApplicationStatus

    @field_validator("ids")
    @classmethod
    def _unique(cls, values: list[UUID]) -> list[UUID]:
        return list(dict.fromkeys(values))


class BulkStatusResult(BaseModel):
    status: ApplicationStatus
    updated: list[UUID]


class ApplicationsQuery(PageQuery):
    status: ApplicationStatus | None = None
