"""Conversations, messages and attachments (seed types Conversation, Message, Attachment)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_ATTACHMENTS_PER_MESSAGE = 10


class UserSummary(BaseModel):
    """What a conversation shows of a participant."""

    id: UUID
    username: str
    full_name: str | None = None
    avatar_url: str | None = None


class Attachment(BaseModel):
    id: UUID
    name: str
    url: str | None = Field(description="Short-lived signed URL, generated on each read")
    type: str
    size: int


class Conversation(BaseModel):
    id: UUID
    participant_ids: list[UUID]
    participants: list[UserSummary] = []
    gig_id: UUID | None
    last_message_at: datetime
    created_at: datetime
    updated_at: datetime


class LastMessage(BaseModel):
    id: UUID
    content: str = Field(description="Preview: the first 200 characters")
    sender_id: UUID
    created_at: datetime


class ConversationPreview(Conversation):
    last_message: LastMessage | None
    unread_count: int


class Message(BaseModel):
    id: UUID
    conversation_id: UUID
    sender_id: UUID
    content: str
    attachments: list[Attachment]
    read_by: list[UUID]
    created_at: datetime


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant_id: UUID
    gig_id: UUID | None = None


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=10_000)
    attachments: list[UUID] = Field(default_factory=list, max_length=MAX_ATTACHMENTS_PER_MESSAGE)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Write a message")
        return value

    @field_validator("attachments", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        # The seed passes Attachment objects; accept those (by id) as well as bare ids.
        if isinstance(value, list):
            return [item.get("id") if isinstance(item, dict) else item for item in value]
        return value

    @field_validator("attachments")
    @classmethod
    def _distinct(cls, value: list[UUID]) -> list[UUID]:
        if len(set(value)) != len(value):
            raise ValueError("An attachment is listed twice")
        return value


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=10_000)
    limit: int = Field(default=20, ge=1, le=100)


class MessagesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=100)


class ReadState(BaseModel):
    conversation_id: UUID
    last_read_at: datetime | None
