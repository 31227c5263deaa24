"""Gigs and applications as setup data, inserted as the owner role (triggers and constraints still run)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from shared.db import Conn
from tests.factories.users import TestUser

_seq = itertools.count(1)


async def _as_setup(conn: Conn) -> None:
    # The owner role with no caller: an earlier request in the same test may have left its claims set.
    await conn.execute("select set_config('role', 'none', true), set_config('request.jwt.claims', '', true)")


async def create_gig(conn: Conn, poster: TestUser, **overrides: Any) -> uuid.UUID:
    n = next(_seq)
    values: dict[str, Any] = {
        "poster_id": poster.id,
        "title": f"Build an AI assistant number {n}",
        "description": "We need an experienced engineer to build a retrieval augmented chatbot for support.",
        "category": "ai-development",
        "skills_required": ["python", "llm"],
        "ai_tools_preferred": ["chatgpt"],
        "budget_type": "fixed",
        "budget_min": 500,
        "budget_max": 1500,
        "location_type": "remote",
        "status": "active",
    }
    values.update(overrides)
    final_status = values["status"]
    if final_status not in ("draft", "active"):
        values["status"] = "active"  # reach paused/closed/filled along the legal path
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({k})s" for k in values)
    async with conn.transaction():
        await _as_setup(conn)
        cur = await conn.execute(f"insert into public.gigs ({columns}) values ({placeholders}) returning id", values)
        row = await cur.fetchone()
        assert row is not None
        if final_status != values["status"]:
            await conn.execute("update public.gigs set status = %s where id = %s", (final_status, row["id"]))
    gig_id: uuid.UUID = row["id"]
    return gig_id


async def create_application(
    conn: Conn, gig_id: uuid.UUID, applicant: TestUser, *, status: str = "pending", **overrides: Any
) -> uuid.UUID:
    values: dict[str, Any] = {
        "gig_id": gig_id,
        "applicant_id": applicant.id,
        "cover_letter": "I have shipped several production chatbots and would love to help.",
        "proposed_rate": 1000,
    }
    values.update(overrides)
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({k})s" for k in values)
    async with conn.transaction():
        await _as_setup(conn)
        cur = await conn.execute(
            f"insert into public.applications ({columns}) values ({placeholders}) returning id", values
        )
        row = await cur.fetchone()
        assert row is not None
        if status != "pending":
            await conn.execute("update public.applications set status = %s where id = %s", (status, row["id"]))
    app_id: uuid.UUID = row["id"]
    return app_id
