"""Concurrent requests keep their objects alive while they wait on the database; with the default
young-generation threshold (700) that alone starts a collection every few requests. The threshold a
function installs (shared/collector.py) keeps the collector out of the way of ordinary traffic."""

from __future__ import annotations

import asyncio
import gc

import httpx

from shared.collector import REQUEST_THRESHOLD
from shared.db import Conn
from tests.factories.marketplace import create_gig
from tests.factories.users import TestUser


async def _young_collections_for(client: httpx.AsyncClient, path: str, threshold: int) -> int:
    previous = gc.get_threshold()
    gc.set_threshold(threshold, previous[1], previous[2])
    try:
        before = gc.get_stats()[0]["collections"]
        responses = await asyncio.gather(*(client.get(path) for _ in range(128)))
        after = gc.get_stats()[0]["collections"]
    finally:
        gc.set_threshold(*previous)
    assert {r.status_code for r in responses} == {200}
    return after - before


async def test_concurrent_requests_rarely_start_a_collection(
    client: httpx.AsyncClient, conn: Conn, user: TestUser
) -> None:
    import functions  # noqa: F401  (the functions' init installs the threshold)

    assert gc.get_threshold()[0] == REQUEST_THRESHOLD
    path = f"/api/v1/gigs/{await create_gig(conn, user)}"
    await _young_collections_for(client, path, REQUEST_THRESHOLD)  # warm: first-request work out of the way
    default = await _young_collections_for(client, path, 700)
    tuned = await _young_collections_for(client, path, REQUEST_THRESHOLD)
    assert default >= 10
    assert tuned <= default // 5
