"""The free plan's monthly post limit under real concurrency: committed data, parallel connections,
each post its own transaction as the user (api_user + claims), exactly as the functions run them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.config import get_settings
from shared.db import Conn, Database
from shared.errors import LimitExceeded
from tests.conftest import connect
from tests.factories.users import TestUser, create_user

PARALLEL = 20


@pytest.fixture(scope="module")
async def setup_conn(module_db_url: str) -> AsyncIterator[Conn]:
    conn = await connect(module_db_url)
    yield conn
    await conn.close()


@pytest.fixture(scope="module")
async def pool_db(module_db_url: str) -> AsyncIterator[Database]:
    settings = get_settings().model_copy(update={"database_url": module_db_url, "db_pool_max_size": PARALLEL + 10})
    db = Database.from_settings(settings)
    yield db
    await db.close()


async def publish_new_gig(db: Database, user: TestUser, *, status: str = "active") -> uuid.UUID:
    async with db.user_tx(user.principal) as conn:
        cur = await conn.execute(
            "insert into public.gigs (poster_id, title, description, category, budget_type, budget_max, status)"
            " values (%s, 'Fine-tune a support model', 'We need a careful engineer to fine-tune and evaluate a model.',"
            " 'ai-development', 'fixed', 900, %s) returning id",
            (user.id, status),
        )
        row = await cur.fetchone()
        assert row is not None
        gig_id: uuid.UUID = row["id"]
        return gig_id


async def publish_draft(db: Database, user: TestUser, gig_id: uuid.UUID) -> None:
    async with db.user_tx(user.principal) as conn:
        await conn.execute("update public.gigs set status = 'active' where id = %s", (gig_id,))


async def usage_of(db: Database, user: TestUser) -> dict[str, Any]:
    async with db.user_tx(user.principal) as conn:
        cur = await conn.execute("select * from private.my_post_usage()")
        row = await cur.fetchone()
        assert row is not None
        return dict(row)


async def active_gigs(setup_conn: Conn, user: TestUser) -> int:
    cur = await setup_conn.execute(
        "select count(*) as n from public.gigs where poster_id = %s and status = 'active'", (user.id,)
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


def split(results: list[Any]) -> tuple[list[Any], list[BaseException], list[BaseException]]:
    ok = [r for r in results if not isinstance(r, BaseException)]
    limited = [r for r in results if isinstance(r, LimitExceeded)]
    other = [r for r in results if isinstance(r, BaseException) and not isinstance(r, LimitExceeded)]
    return ok, limited, other


async def test_twenty_simultaneous_posts_with_one_left_create_exactly_one(setup_conn: Conn, pool_db: Database) -> None:
    await setup_conn.execute("update private.billing_settings set free_plan_monthly_posts = 5")
    user = await create_user(setup_conn)
    for _ in range(4):
        await publish_new_gig(pool_db, user)
    assert await usage_of(pool_db, user) == {"posts_used": 4, "posts_limit": 5, "can_post": True}

    results = await asyncio.gather(*(publish_new_gig(pool_db, user) for _ in range(PARALLEL)), return_exceptions=True)

    ok, limited, other = split(results)
    assert other == []
    assert (len(ok), len(limited)) == (1, PARALLEL - 1)
    assert "limit of 5 gig posts this month" in str(limited[0])
    assert await active_gigs(setup_conn, user) == 5
    assert await usage_of(pool_db, user) == {"posts_used": 5, "posts_limit": 5, "can_post": False}


async def test_twenty_drafts_published_at_once_with_one_left_publish_exactly_one(
    setup_conn: Conn, pool_db: Database
) -> None:
    await setup_conn.execute("update private.billing_settings set free_plan_monthly_posts = 3")
    user = await create_user(setup_conn)
    drafts = [await publish_new_gig(pool_db, user, status="draft") for _ in range(PARALLEL)]
    assert (await usage_of(pool_db, user))["posts_used"] == 0  # drafts do not count
    await publish_new_gig(pool_db, user)
    await publish_new_gig(pool_db, user)

    results = await asyncio.gather(*(publish_draft(pool_db, user, g) for g in drafts), return_exceptions=True)

    ok, limited, other = split(results)
    assert other == []
    assert (len(ok), len(limited)) == (1, PARALLEL - 1)
    assert await active_gigs(setup_conn, user) == 3
    assert (await usage_of(pool_db, user))["can_post"] is False


async def test_pro_posts_are_unlimited_under_concurrency(setup_conn: Conn, pool_db: Database) -> None:
    await setup_conn.execute("update private.billing_settings set free_plan_monthly_posts = 2")
    user = await create_user(setup_conn)
    await setup_conn.execute(
        "update public.subscriptions set plan = 'pro', status = 'active' where user_id = %s", (user.id,)
    )
    results = await asyncio.gather(*(publish_new_gig(pool_db, user) for _ in range(PARALLEL)), return_exceptions=True)
    ok, limited, other = split(results)
    assert (len(ok), limited, other) == (PARALLEL, [], [])
    assert await usage_of(pool_db, user) == {"posts_used": PARALLEL, "posts_limit": None, "can_post": True}


async def test_users_do_not_share_a_limit(setup_conn: Conn, pool_db: Database) -> None:
    await setup_conn.execute("update private.billing_settings set free_plan_monthly_posts = 1")
    users = [await create_user(setup_conn) for _ in range(PARALLEL)]
    results = await asyncio.gather(*(publish_new_gig(pool_db, u) for u in users), return_exceptions=True)
    ok, limited, other = split(results)
    assert (len(ok), limited, other) == (PARALLEL, [], [])
