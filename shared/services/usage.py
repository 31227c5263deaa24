"""Plan usage: how many gigs the caller may still publish this month.

The rule lives in one SQL function, private.post_usage(user_id), which the gig-publish trigger
enforces and getUsage reads, so the two can never disagree. Its limit comes from
private.billing_settings, which `sync_plan_settings` keeps equal to FREE_PLAN_MONTHLY_POSTS.
"""

from __future__ import annotations

import weakref

from shared.config import Settings
from shared.db import Conn, Database
from shared.models.billing import Usage

_synced: weakref.WeakKeyDictionary[Database, int] = weakref.WeakKeyDictionary()


async def sync_plan_settings(db: Database, settings: Settings) -> None:
    """Writes the configured free-plan limit where the database enforces it; once per process and value.

    The row lives in the database, so one function that ran this is enough for every writer of gigs.
    """
    value = settings.free_plan_monthly_posts
    if _synced.get(db) == value:
        return
    async with db.service_tx() as conn:
        await conn.execute(
            "update private.billing_settings set free_plan_monthly_posts = %s, updated_at = now()"
            " where id and free_plan_monthly_posts <> %s",
            (value, value),
        )
    _synced[db] = value


async def get_usage(conn: Conn) -> Usage:
    """The caller's own usage (private.my_post_usage reads auth.uid(), never a user id we pass)."""
    cur = await conn.execute("select posts_used, posts_limit, can_post from private.my_post_usage()")
    row = await cur.fetchone()
    assert row is not None  # the function always returns one row
    return Usage.model_validate(row)
