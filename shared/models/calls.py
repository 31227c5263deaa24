"""Video calls (seed type VideoCall)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, field_validator


class VideoCall(BaseModel):
    id: UUID
    room_id: str
    join_url: str
    initiator_id: UUID
    participant_ids: list[UUID]
    gig_id: UUID | None
    application_id: UUID | None
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime


class CallCreate(BaseModel):
    """No scheduled_at: an instant call (createCall); with it: scheduleCall."""

    model_config = ConfigDict(extra="forbid")

    participant_id: UUID
    gig_id: UUID | None = None
    application_id: UUID | None = None
    scheduled_at: datetime | None = None

    @field_validator("scheduled_at")
    @classmethod
    def _future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Give a time zone (e.g. 2030-01-01T10:00:00Z)")
        if value <= datetime.now(UTC):
            raise ValueError("Schedule the call in the future")
        return value
