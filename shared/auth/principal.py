"""Who is calling: what a verified access token says."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from uuid import UUID

PLATFORM_ROLES = ("user", "admin", "superadmin")


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    session_id: UUID | None
    email: str | None
    claims: dict[str, Any] = field(repr=False)

    @property
    def platform_role(self) -> str:
        # Put there by the custom access token hook from a table; never read from user_metadata.
        role = self.claims.get("user_role")
        return role if role in PLATFORM_ROLES else "user"

    @property
    def is_admin(self) -> bool:
        return self.platform_role in ("admin", "superadmin")

    @cached_property
    def claims_json(self) -> str:
        return json.dumps(self.claims, separators=(",", ":"))
