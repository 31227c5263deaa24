"""Generic uploads: the file descriptor the API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

UploadFolder = Literal["avatars", "documents"]


class FileDescriptor(BaseModel):
    id: UUID
    name: str
    url: str
    size: int
    type: str
    folder: UploadFolder
    uploaded_at: datetime = Field(serialization_alias="uploadedAt")
