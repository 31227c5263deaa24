"""Categories: what the caller may pick for a gig."""

from __future__ import annotations

from shared.db import Conn
from shared.models.categories import Category


async def list_categories(conn: Conn) -> list[Category]:
    """The marketplace taxonomy first, then organizations' own categories. Which rows come back is the
    categories SELECT policy's decision: issue 6 extends that policy with the caller's organizations,
    and this query needs no change."""
    cur = await conn.execute(
        "select id, slug, name, description, organization_id, sort_order from public.categories"
        " order by organization_id nulls first, sort_order, name"
    )
    return [Category.model_validate(r) for r in await cur.fetchall()]
