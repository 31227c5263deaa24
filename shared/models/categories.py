"""Categories: the marketplace taxonomy and, from issue 6, organizations' own."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel


class Category(BaseModel):
    id: UUID
    slug: str
    name: str
    description: str | None
    organization_id: UUID | None
    sort_order: int
