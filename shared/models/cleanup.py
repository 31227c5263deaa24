"""What one run of the cleanup job reports (the HTTP route's data and the job's log line)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TaskOutcome = int | Literal["failed"]


class CleanupReport(BaseModel):
    skipped: bool
    reason: str | None = None
    # Task name to rows it handled in this run, or "failed" (the other tasks still ran).
    tasks: dict[str, TaskOutcome] = Field(default_factory=dict)
    duration_ms: float
