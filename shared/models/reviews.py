"""Reviews (seed type Review) and the rating aggregate."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.models.messaging import UserSummary


class Review(BaseModel):
    id: UUID
    gig_id: UUID
    reviewer_id: UUID
    reviewer: UserSummary | None = None
    reviewee_id: UUID
    rating: int
    comment: str | None
    created_at: datetime


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gig_id: UUID
    reviewee_id: UUID
    rating: int = Field(ge=1, le=5, strict=True)
    comment: str | None = Field(default=None, max_length=2000)


class Rating(BaseModel):
    average: float
    count: int
