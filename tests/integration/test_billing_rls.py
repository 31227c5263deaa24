"""Who sees and changes billing rows, acting exactly as PostgREST / the functions would (role + claims)."""

from __future__ import annotations

import psycopg
import pytest

from shared.db import Conn
from tests.factories.billing import StripeCustomer, set_plan
from tests.factories.users import TestUser, acting_as, as_owner, create_user


async def rows(conn: Conn, sql: str, *params: object) -> list[dict[str, object]]:
    cur = await conn.execute(sql, params)
    return [dict(r) for r in await cur.fetchall()]


async def test_every_new_user_starts_on_the_free_plan(conn: Conn) -> None:
    user = await create_user(conn)
    await as_owner(conn)
    found = await rows(
        conn, "select plan, status, cancel_at_period_end from public.subscriptions where user_id = %s", user.id
    )
    assert found == [{"plan": "free", "status": "active", "cancel_at_period_end": False}]


async def test_deleting_the_user_deletes_the_subscription(conn: Conn, user: TestUser) -> None:
    await as_owner(conn)
    await conn.execute("delete from auth.users where id = %s", (user.id,))
    assert await rows(conn, "select 1 from public.subscriptions where user_id = %s", user.id) == []


@pytest.mark.parametrize("as_api_user", [False, True], ids=["authenticated", "api_user"])
async def test_a_user_reads_only_their_own_subscription(
    conn: Conn, user: TestUser, other_user: TestUser, as_api_user: bool
) -> None:
    theirs = StripeCustomer.of(other_user)
    await set_plan(conn, other_user, plan="pro", customer=theirs)
    async with acting_as(conn, user, as_api_user=as_api_user) as c:
        visible = await rows(c, "select user_id, stripe_customer_id from public.subscriptions")
        by_customer = await rows(
            c,
            "select 1 from public.subscriptions where stripe_customer_id = %s or stripe_subscription_id = %s",
            theirs.customer_id,
            theirs.subscription_id,
        )
    assert visible == [{"user_id": user.id, "stripe_customer_id": None}]
    assert by_customer == []  # another user's Stripe ids cannot even be probed for


async def test_the_owner_sees_their_own_stripe_ids(conn: Conn, user: TestUser) -> None:
    mine = StripeCustomer.of(user)
    await set_plan(conn, user, plan="pro", customer=mine)
    async with acting_as(conn, user) as c:
        found = await rows(c, "select stripe_customer_id, stripe_subscription_id, plan from public.subscriptions")
    assert found == [
        {"stripe_customer_id": mine.customer_id, "stripe_subscription_id": mine.subscription_id, "plan": "pro"}
    ]


async def test_anon_sees_no_subscription(conn: Conn, user: TestUser) -> None:
    async with acting_as(conn, "anon") as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await c.execute("select * from public.subscriptions")


async def test_service_role_sees_every_subscription(conn: Conn, user: TestUser, other_user: TestUser) -> None:
    async with acting_as(conn, "service_role") as c:
        found = await rows(
            c, "select user_id from public.subscriptions where user_id in (%s, %s)", user.id, other_user.id
        )
    assert len(found) == 2


WRITES = [
    "insert into public.subscriptions (user_id, plan) values ('{uid}', 'pro')",
    "update public.subscriptions set plan = 'pro' where user_id = '{uid}'",
    "update public.subscriptions set stripe_customer_id = 'cus_mine' where user_id = '{uid}'",
    "delete from public.subscriptions where user_id = '{uid}'",
    "insert into public.stripe_events (id, type, created) values ('evt_x', 'x', now())",
    "select * from public.stripe_events",
    "update private.billing_settings set free_plan_monthly_posts = 1000",
    "update private.monthly_post_counts set posts = 0",
    "select * from private.post_usage('{uid}')",
]


@pytest.mark.parametrize("actor", ["anon", "authenticated", "api_user"])
@pytest.mark.parametrize("sql", WRITES, ids=[w.split(" where")[0][:60] for w in WRITES])
async def test_no_direct_writes_or_reads_of_billing_internals(conn: Conn, user: TestUser, actor: str, sql: str) -> None:
    who = None if actor == "anon" else user
    async with acting_as(conn, who, as_api_user=actor == "api_user") as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await c.execute(sql.format(uid=user.id))
    await as_owner(conn)
    found = await rows(conn, "select plan, stripe_customer_id from public.subscriptions where user_id = %s", user.id)
    assert found == [{"plan": "free", "stripe_customer_id": None}]


async def test_usage_is_only_ever_the_callers_own(conn: Conn, user: TestUser, other_user: TestUser) -> None:
    await as_owner(conn)
    await conn.execute(
        "insert into private.monthly_post_counts (user_id, month, posts) values (%s, private.current_post_month(), 7)",
        (other_user.id,),
    )
    async with acting_as(conn, user, as_api_user=True) as c:
        mine = await rows(c, "select * from private.my_post_usage()")
    async with acting_as(conn, other_user, as_api_user=True) as c:
        theirs = await rows(c, "select * from private.my_post_usage()")
    assert mine[0]["posts_used"] == 0
    assert theirs[0]["posts_used"] == 7


async def test_billing_helpers_only_touch_the_callers_row(conn: Conn, user: TestUser, other_user: TestUser) -> None:
    theirs = StripeCustomer.of(other_user)
    await set_plan(conn, other_user, plan="pro", customer=theirs)
    async with acting_as(conn, user, as_api_user=True) as c:
        linked = await rows(c, "select private.link_my_stripe_customer('cus_new_for_me') as c")
        marked = await rows(c, "select id from private.mark_my_cancel_at_period_end(%s, true)", theirs.subscription_id)
        # Kept only while the rolled-back savepoint lasts; checked inside it.
        await as_owner(c)
        states = await rows(
            c,
            "select user_id, stripe_customer_id, cancel_at_period_end from public.subscriptions"
            " where user_id in (%s, %s) order by user_id = %s desc",
            user.id,
            other_user.id,
            user.id,
        )
    assert linked == [{"c": "cus_new_for_me"}]
    assert marked == []
    assert states == [
        {"user_id": user.id, "stripe_customer_id": "cus_new_for_me", "cancel_at_period_end": False},
        {"user_id": other_user.id, "stripe_customer_id": theirs.customer_id, "cancel_at_period_end": False},
    ]


async def test_link_customer_never_replaces_a_remembered_customer(conn: Conn, user: TestUser) -> None:
    await set_plan(conn, user, plan="free", customer=StripeCustomer(user_id=str(user.id), customer_id="cus_first"))
    async with acting_as(conn, user, as_api_user=True) as c:
        again = await rows(c, "select private.link_my_stripe_customer('cus_second') as c")
    assert again == [{"c": "cus_first"}]


async def test_owner_bulk_loads_are_not_limited(conn: Conn, user: TestUser) -> None:
    # Seed and benchmark data are operator writes, not user posts.
    await as_owner(conn)
    await conn.execute("update private.billing_settings set free_plan_monthly_posts = 1")
    await conn.execute(
        "insert into public.gigs (poster_id, title, description, category, budget_type, budget_max, status)"
        " select %s, 'Label a data set ' || i, 'We need someone careful to label ten thousand images.',"
        " 'ai-development', 'fixed', 300, 'active' from generate_series(1, 5) i",
        (user.id,),
    )
    async with acting_as(conn, user, as_api_user=True) as c:
        usage = await rows(c, "select * from private.my_post_usage()")
    assert usage == [{"posts_used": 0, "posts_limit": 1, "can_post": True}]
