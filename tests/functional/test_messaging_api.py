"""Messaging over HTTP: conversations, messages, read state, attachments, with their error paths."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.db import Conn
from shared.providers.storage import LocalStorage, set_storage
from tests.factories.messaging import add_message, create_conversation, create_gig, notifications_of
from tests.factories.users import TestUser, create_user

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[LocalStorage]:
    local = LocalStorage(tmp_path, "http://testserver", b"k" * 32)
    set_storage(local)
    yield local
    set_storage(None)


async def _start(client: httpx.AsyncClient, me: TestUser, other: TestUser, **extra: object) -> httpx.Response:
    return await client.post(
        "/api/v1/conversations", json={"participant_id": str(other.id), **extra}, headers=me.headers
    )


async def test_get_or_create_returns_the_same_conversation_for_the_same_pair(
    client: httpx.AsyncClient, user: TestUser, other_user: TestUser
) -> None:
    first = await _start(client, user, other_user)
    assert first.status_code == 201, first.text
    conv = first.json()["data"]
    assert sorted(conv["participant_ids"]) == sorted([str(user.id), str(other_user.id)])
    assert [p["id"] for p in conv["participants"]] == [str(other_user.id)]
    # Either side asking again gets the same one.
    again = await _start(client, other_user, user)
    assert again.status_code == 200
    assert again.json()["data"]["id"] == conv["id"]


async def test_a_conversation_about_a_gig_is_a_different_conversation(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    gig_id = await create_gig(conn, user)
    plain = (await _start(client, user, other_user)).json()["data"]
    about_gig = await _start(client, other_user, user, gig_id=str(gig_id))
    assert about_gig.status_code == 201
    assert about_gig.json()["data"]["gig_id"] == str(gig_id)
    assert about_gig.json()["data"]["id"] != plain["id"]


async def test_starting_a_conversation_errors(client: httpx.AsyncClient, user: TestUser) -> None:
    assert (await client.post("/api/v1/conversations", json={"participant_id": str(user.id)})).status_code == 401
    self_chat = await client.post("/api/v1/conversations", json={"participant_id": str(user.id)}, headers=user.headers)
    assert self_chat.status_code == 400
    assert "participant_id" in self_chat.json()["error"]["fields"]
    nobody = await client.post(
        "/api/v1/conversations", json={"participant_id": str(uuid.uuid4())}, headers=user.headers
    )
    assert nobody.status_code == 404
    bad = await client.post("/api/v1/conversations", json={"participant_id": "nope"}, headers=user.headers)
    assert bad.status_code == 400
    assert "participant_id" in bad.json()["error"]["fields"]
    no_gig = await client.post(
        "/api/v1/conversations",
        json={"participant_id": str(uuid.uuid4()), "gig_id": str(uuid.uuid4())},
        headers=user.headers,
    )
    assert no_gig.status_code == 404


async def test_send_and_read_messages_only_as_a_participant(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    stranger = await create_user(conn)
    conv_id = (await _start(client, user, other_user)).json()["data"]["id"]
    sent = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"content": "Hello there"}, headers=user.headers
    )
    assert sent.status_code == 201, sent.text
    message = sent.json()["data"]
    assert message["sender_id"] == str(user.id)
    assert message["read_by"] == [str(user.id)]
    assert message["attachments"] == []

    page = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=other_user.headers)
    assert page.status_code == 200
    assert [m["content"] for m in page.json()["data"]["items"]] == ["Hello there"]
    assert page.json()["data"]["hasMore"] is False
    assert page.json()["data"]["nextCursor"] is None

    # A stranger can neither read nor write, and learns nothing about the conversation.
    for response in (
        await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=stranger.headers),
        await client.post(
            f"/api/v1/conversations/{conv_id}/messages", json={"content": "hi"}, headers=stranger.headers
        ),
        await client.post(f"/api/v1/conversations/{conv_id}/read", headers=stranger.headers),
    ):
        assert response.status_code == 404, response.text
    assert (await client.get(f"/api/v1/conversations/{conv_id}/messages")).status_code == 401


async def test_message_content_validation_changes_nothing(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    conv_id = (await _start(client, user, other_user)).json()["data"]["id"]
    for body in ({"content": ""}, {"content": "   "}, {"content": "x" * 10_001}, {}, {"content": "ok", "x": 1}):
        response = await client.post(f"/api/v1/conversations/{conv_id}/messages", json=body, headers=user.headers)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert response.json()["error"]["fields"]
    exact = await client.post(
        f"/api/v1/conversations/{conv_id}/messages", json={"content": "x" * 10_000}, headers=user.headers
    )
    assert exact.status_code == 201
    page = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=user.headers)
    assert len(page.json()["data"]["items"]) == 1
    bad_cursor = await client.get(
        f"/api/v1/conversations/{conv_id}/messages", params={"cursor": "!!!"}, headers=user.headers
    )
    assert bad_cursor.status_code == 400
    assert "cursor" in bad_cursor.json()["error"]["fields"]


async def test_conversation_list_previews_unread_counts_and_mark_as_read(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    third = await create_user(conn)
    older = await create_conversation(conn, user, third)
    newer = await create_conversation(conn, user, other_user)
    await add_message(conn, older, third, "from third")
    await add_message(conn, newer, other_user, "first from other")
    await add_message(conn, newer, other_user, "second from other")
    await add_message(conn, newer, user, "my reply")

    listed = await client.get("/api/v1/conversations", headers=user.headers)
    assert listed.status_code == 200
    data = listed.json()["data"]
    assert data["total"] == 2
    items = data["items"]
    assert [i["id"] for i in items] == [str(newer), str(older)]  # most recent activity first
    assert items[0]["last_message"]["content"] == "my reply"
    assert items[0]["last_message"]["sender_id"] == str(user.id)
    assert items[0]["unread_count"] == 2  # my own message is not unread
    assert items[0]["participants"][0]["username"] == other_user.username
    assert items[1]["unread_count"] == 1

    # The other side sees its own view: my message is unread for them.
    theirs = (await client.get("/api/v1/conversations", headers=other_user.headers)).json()["data"]["items"]
    assert [(i["id"], i["unread_count"]) for i in theirs] == [(str(newer), 1)]

    read = await client.post(f"/api/v1/conversations/{newer}/read", headers=user.headers)
    assert read.status_code == 200
    after = (await client.get("/api/v1/conversations", headers=user.headers)).json()["data"]["items"]
    assert {i["id"]: i["unread_count"] for i in after} == {str(newer): 0, str(older): 1}
    # read_by now lists me on the other side's messages.
    page = (await client.get(f"/api/v1/conversations/{newer}/messages", headers=other_user.headers)).json()
    assert all(str(user.id) in m["read_by"] for m in page["data"]["items"])
    # And the conversation's new_message notification is read too.
    assert all(
        n["read_at"] is not None
        for n in await notifications_of(conn, user, "new_message")
        if n["data"]["conversation_id"] == str(newer)
    )

    paged = (await client.get("/api/v1/conversations", params={"limit": 1, "page": 2}, headers=user.headers)).json()
    assert [i["id"] for i in paged["data"]["items"]] == [str(older)]
    assert paged["data"]["hasMore"] is False
    assert (await client.get("/api/v1/conversations", params={"limit": 0}, headers=user.headers)).status_code == 400


async def test_new_message_notifies_the_others_once_while_unread(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser
) -> None:
    conv_id = (await _start(client, user, other_user)).json()["data"]["id"]
    for text in ("one", "two", "three"):
        await client.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": text}, headers=user.headers)
    notes = await notifications_of(conn, other_user, "new_message")
    assert len(notes) == 1
    assert notes[0]["data"]["conversation_id"] == conv_id
    assert notes[0]["body"] == "one"
    assert await notifications_of(conn, user, "new_message") == []
    await client.post(f"/api/v1/conversations/{conv_id}/read", headers=other_user.headers)
    await client.post(f"/api/v1/conversations/{conv_id}/messages", json={"content": "four"}, headers=user.headers)
    assert len(await notifications_of(conn, other_user, "new_message")) == 2


async def test_attachments_upload_then_send_then_signed_read(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser, storage: LocalStorage
) -> None:
    stranger = await create_user(conn)
    conv_id = (await _start(client, user, other_user)).json()["data"]["id"]
    up = await client.post(
        "/api/v1/attachments",
        files={"file": ("../../shot.png", PNG, "text/plain")},
        data={"conversation_id": conv_id},
        headers=user.headers,
    )
    assert up.status_code == 201, up.text
    att = up.json()["data"]
    assert att["type"] == "image/png" and att["size"] == len(PNG) and att["name"] == "shot.png"
    assert "/sign/attachments/" in att["url"] and "token=" in att["url"]
    stored = [p for p in storage.root.rglob("*.png")]
    assert len(stored) == 1
    assert stored[0].relative_to(storage.root).parts[:3] == ("attachments", str(user.id), conv_id)

    # Someone else cannot attach my upload.
    theirs = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"content": "stealing", "attachments": [att["id"]]},
        headers=other_user.headers,
    )
    assert theirs.status_code == 400
    assert "attachments" in theirs.json()["error"]["fields"]

    sent = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"content": "see attached", "attachments": [att["id"]]},
        headers=user.headers,
    )
    assert sent.status_code == 201, sent.text
    assert [a["id"] for a in sent.json()["data"]["attachments"]] == [att["id"]]

    # Used once only.
    reuse = await client.post(
        f"/api/v1/conversations/{conv_id}/messages",
        json={"content": "again", "attachments": [att["id"]]},
        headers=user.headers,
    )
    assert reuse.status_code == 400

    page = (await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=other_user.headers)).json()
    [message] = page["data"]["items"]
    url = message["attachments"][0]["url"]
    fetched = await client.get(url)
    assert fetched.status_code == 200 and fetched.content == PNG
    tampered = await client.get(url.replace("token=", "token=0"))
    assert tampered.status_code == 404

    # Strangers cannot upload into the conversation.
    denied = await client.post(
        "/api/v1/attachments",
        files={"file": ("a.png", PNG, "image/png")},
        data={"conversation_id": conv_id},
        headers=stranger.headers,
    )
    assert denied.status_code == 404


async def test_attachment_upload_errors(
    client: httpx.AsyncClient, user: TestUser, other_user: TestUser, storage: LocalStorage
) -> None:
    conv_id = (await _start(client, user, other_user)).json()["data"]["id"]

    async def upload(content: bytes, name: str = "f.bin", **data: str) -> httpx.Response:
        return await client.post(
            "/api/v1/attachments",
            files={"file": (name, content, "image/png")},
            data={"conversation_id": conv_id, **data},
            headers=user.headers,
        )

    exe = await upload(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200, "x.png")
    assert exe.status_code == 415
    too_big = await upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * (25 * 1024 * 1024), "big.png")
    assert too_big.status_code == 413
    empty = await upload(b"", "e.png")
    assert empty.status_code == 400
    missing = await client.post(
        "/api/v1/attachments", files={"file": ("a.png", PNG, "image/png")}, headers=user.headers
    )
    assert missing.status_code == 400
    assert "conversation_id" in missing.json()["error"]["fields"]
    assert list(storage.root.rglob("*.*")) == []
    anon = await client.post(
        "/api/v1/attachments", files={"file": ("a.png", PNG, "image/png")}, data={"conversation_id": conv_id}
    )
    assert anon.status_code == 401
