"""GET /gigs answers the same whichever way the service fetches the page: collecting the matches through
the filter document's index (few matches) or walking the sort order with the filters on the columns
(many). Each test runs both ways: "walk" makes every search count as frequent. The totals and
X-Total-Exact say what a client may rely on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from shared.db import Conn
from shared.services import gig_search
from tests.conftest import connect
from tests.factories.marketplace import create_gig
from tests.factories.users import TestUser

API = "/api/v1"


@pytest.fixture(params=["collect", "walk"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "walk":
        monkeypatch.setattr(gig_search, "ESTIMATE_ABOVE", 0)
    yield str(request.param)


async def _listing(client: httpx.AsyncClient, **query: Any) -> tuple[dict[str, Any], httpx.Response]:
    resp = await client.get(f"{API}/gigs?{urlencode(query)}")
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data, resp


async def _ids(client: httpx.AsyncClient, **query: Any) -> list[str]:
    data, _ = await _listing(client, **query)
    return [g["id"] for g in data["items"]]


# Tags are free text: each must stay one value whatever characters it holds (the document query quotes
# them for the tsquery parser), and no tag may match a word of a title or the other kind of tag.
ODD_TAGS = ["c++", "o'reilly", "a | b", "back\\slash", "!not", "x:y", "(paren", "two words", "'quoted'"]


async def test_tags_with_any_characters_match_exactly_themselves(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, way: str
) -> None:
    gigs = {tag: str(await create_gig(conn, user, skills_required=[tag], ai_tools_preferred=[])) for tag in ODD_TAGS}
    tool = str(await create_gig(conn, user, skills_required=[], ai_tools_preferred=ODD_TAGS[:3]))
    for tag, gig in gigs.items():
        assert await _ids(client, skills=tag) == [gig], (way, tag)
    assert await _ids(client, ai_tools="c++") == [tool]
    assert set(await _ids(client, skills="c++,x:y")) == {gigs["c++"], gigs["x:y"]}  # any of them
    assert await _ids(client, skills="c") == [] and await _ids(client, skills="two") == []
    assert await _ids(client, skills="a") == []  # not a prefix or a word of "a | b"


async def test_tags_words_categories_and_places_do_not_leak_into_each_other(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, way: str
) -> None:
    # A title word equal to a tag, a skill named like a category, a tool named like a skill.
    titled = str(await create_gig(conn, user, title="Design a python course", skills_required=["teaching"]))
    skilled = str(await create_gig(conn, user, title="Course platform build", skills_required=["python", "design"]))
    tooled = str(
        await create_gig(conn, user, title="Course videos editing", skills_required=[], ai_tools_preferred=["python"])
    )
    onsite = str(
        await create_gig(
            conn,
            user,
            title="Course studio setup",
            category="design",
            location_type="onsite",
            skills_required=["remote"],
        )
    )
    assert await _ids(client, skills="python") == [skilled]
    assert await _ids(client, ai_tools="python") == [tooled]
    assert await _ids(client, search="python", skills="teaching") == [titled]
    assert await _ids(client, skills="design") == [skilled]
    assert await _ids(client, category="design", search="course") == [onsite]
    assert set(await _ids(client, location_type="remote", search="course")) == {titled, skilled, tooled}
    assert await _ids(client, location_type="onsite", skills="remote") == [onsite]
    assert await _ids(client, location_type="remote", skills="remote") == []


async def test_words_searched_within_a_category_stay_in_that_category(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, way: str
) -> None:
    """Within a category the document query uses the category's own word lexemes; negations, "or" and
    phrases must still mean exactly what they mean on the gig's own columns."""
    design_logo = str(await create_gig(conn, user, title="Landing page logo refresh", category="design"))
    design_site = str(await create_gig(conn, user, title="Landing page for a bakery", category="design"))
    web_logo = str(await create_gig(conn, user, title="Landing page logo refresh", category="web-development"))
    web_other = str(await create_gig(conn, user, title="Checkout flow rebuild", category="web-development"))

    async def ids(**query: Any) -> set[str]:
        return set(await _ids(client, **query))

    assert await ids(category="design", search="logo") == {design_logo}
    assert await ids(category="web-development", search="logo") == {web_logo}
    assert await ids(category="design", search="landing -logo") == {design_site}
    assert await ids(category="web-development", search="-logo") == {web_other}  # negation only
    assert await ids(category="design", search="bakery or -logo") == {design_site}
    assert await ids(category="design", search='"landing page"') == {design_logo, design_site}  # a phrase
    assert await ids(category="design", search='"page landing"') == set()
    assert await ids(category="web-development", search="landing", skills="python") == {web_logo}
    assert await ids(category="translation", search="landing") == set()


async def test_a_search_of_stop_words_matches_nothing_even_with_other_filters(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, way: str
) -> None:
    await create_gig(conn, user, title="The python job", skills_required=["python"])
    for query in (
        {"search": "the"},
        {"search": "the", "skills": "python"},
        {"search": "and or", "category": "ai-development"},
    ):
        data, resp = await _listing(client, **query)
        assert data["items"] == [] and data["total"] == 0 and data["hasMore"] is False, (way, query)
        assert resp.headers["x-total-exact"] == "true"


async def test_pages_totals_and_the_exactness_header(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, way: str
) -> None:
    made = [
        str(await create_gig(conn, user, title=f"Nightly etl pipeline {n}", skills_required=["dbt"])) for n in range(5)
    ]
    await create_gig(conn, user, title="Nightly etl pipeline draft", skills_required=["dbt"], status="draft")
    newest_first = sorted(made, reverse=True)  # one transaction: the same published_at, then id desc
    seen: list[str] = []
    for page in (1, 2, 3):
        data, resp = await _listing(client, skills="dbt", limit=2, page=page)
        seen += [g["id"] for g in data["items"]]
        assert data["hasMore"] is (page < 3)
        if way == "collect" or page == 3:
            # Counted exactly; on the last page also after a walk (it finds fewer than the page and
            # the next row, and hands over to the exact count).
            assert data["total"] == 5 and resp.headers["x-total-exact"] == "true", (way, page)
        else:  # an estimate, but never less than the rows this page proves exist
            assert data["total"] >= page * 2 + 1 and resp.headers["x-total-exact"] == "false", (way, page)
    assert seen == newest_first
    data, _ = await _listing(client, skills="dbt", limit=2, page=4)  # past the end
    assert data["items"] == [] and data["total"] == 5 and data["hasMore"] is False
    assert await _ids(client, skills="dbt", search="pipeline", sort="budget", limit=5) != []


async def test_frequent_matches_are_estimated_and_say_so(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the walk taken and the page not the last, the total is the planner's estimate (rounded,
    never less than what this page proves exists) and X-Total-Exact is false."""
    monkeypatch.setattr(gig_search, "ESTIMATE_ABOVE", 0)
    for n in range(6):
        await create_gig(conn, user, title=f"Label images batch {n}", skills_required=["labeling"])
    data, resp = await _listing(client, skills="labeling", limit=2)
    assert resp.headers["x-total-exact"] == "false"
    assert len(data["items"]) == 2 and data["hasMore"] is True and data["total"] >= 3
    last, resp = await _listing(client, skills="labeling", limit=2, page=3)
    assert resp.headers["x-total-exact"] == "true" and last["total"] == 6 and last["hasMore"] is False


async def test_a_search_that_runs_too_long_is_answered_503_and_the_next_one_works(
    client: httpx.AsyncClient, module_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing's statement timeout: another session holds gigs locked, so the listing waits until
    its timeout cancels it; the caller gets the envelope's 503, and the connection serves the next."""
    monkeypatch.setattr(gig_search, "SEARCH_TIMEOUT", "100ms")
    holder = await connect(module_db_url)
    try:
        async with holder.transaction():
            await holder.execute("lock table public.gigs in access exclusive mode")
            resp = await client.get(f"{API}/gigs?search=anything")
        assert resp.status_code == 503, resp.text
        body = resp.json()
        assert body["success"] is False and body["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert "statement" not in body["error"]["message"].lower()  # no database text
    finally:
        await holder.close()
    data, _ = await _listing(client, search="anything")
    assert data["items"] == [] and data["total"] == 0


def test_about_rounds_estimates_to_two_figures() -> None:
    assert [gig_search.about(n) for n in (0, 7, 99, 100, 149, 5_049, 75_312, 699_999)] == [
        0,
        7,
        99,
        100,
        150,
        5_000,
        75_000,
        700_000,
    ]
