"""Reviews between a gig's poster and the freelancer they hired; the rating aggregate lives on profiles
(maintained by the reviews trigger), so reading a rating is one row."""

from __future__ import annotations

from uuid import UUID

from shared.db import Conn
from shared.errors import NotFound
from shared.models.reviews import Rating, Review, ReviewCreate

_SELECT = """
select r.id, r.gig_id, r.reviewer_id, r.reviewee_id, r.rating, r.comment, r.created_at,
       jsonb_build_object('id', p.id, 'username', p.username, 'full_name', p.full_name,
                          'avatar_url', p.avatar_url) as reviewer
from public.reviews r join public.profiles p on p.id = r.reviewer_id
"""


async def create(conn: Conn, body: ReviewCreate) -> Review:
    cur = await conn.execute(
        "insert into public.reviews (gig_id, reviewer_id, reviewee_id, rating, comment)"
        " values (%s, (select auth.uid()), %s, %s, %s) returning id",
        (body.gig_id, body.reviewee_id, body.rating, body.comment),
    )
    row = await cur.fetchone()
    assert row is not None
    cur = await conn.execute(_SELECT + " where r.id = %s", (row["id"],))
    full = await cur.fetchone()
    assert full is not None
    return Review.model_validate(full)


async def _require_user(conn: Conn, user_id: UUID) -> None:
    cur = await conn.execute("select 1 from public.profiles where id = %s", (user_id,))
    if await cur.fetchone() is None:
        raise NotFound("User not found")


async def for_user(conn: Conn, user_id: UUID, *, page: int, limit: int) -> tuple[list[Review], int]:
    await _require_user(conn, user_id)
    cur = await conn.execute(
        _SELECT + " where r.reviewee_id = %s order by r.created_at desc, r.id desc limit %s offset %s",
        (user_id, limit, (page - 1) * limit),
    )
    rows = await cur.fetchall()
    # The count is the aggregate the trigger maintains: no count(*) over the reviews.
    rating = await rating_of(conn, user_id)
    return [Review.model_validate(r) for r in rows], rating.count


async def rating_of(conn: Conn, user_id: UUID) -> Rating:
    cur = await conn.execute(
        "select rating_average as average, rating_count as count from public.profiles where id = %s", (user_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("User not found")
    return Rating(average=float(row["average"]), count=int(row["count"]))
