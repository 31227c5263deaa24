"""Auth actions over HTTP with the local backend: what a user of sign-up, sign-in, refresh, sign-out,
reset and update password relies on, including sessions ending at once and bans biting at once."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jwt
import pytest

from shared.config import get_settings
from shared.db import Conn
from tests.factories.accounts import create_platform_user
from tests.factories.users import as_owner

AUTH = "/api/v1/auth"
PROBE = "/api/v1/me/organizations"  # any route that needs a live session
PASSWORD = "Correct-horse-9"


def _ip() -> dict[str, str]:
    # Each test signs in from its own address so the sign-in limit never interferes across tests.
    return {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_up(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    name = f"u{uuid.uuid4().hex[:10]}"
    body = {"email": f"{name}@example.test", "password": PASSWORD, "username": name, "full_name": "Ada Lovelace"}
    body.update(overrides)
    response = await client.post(f"{AUTH}/signup", json=body, headers=_ip())
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    data["password"] = body["password"]
    return data


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(f"{AUTH}/signin", json={"email": email, "password": password}, headers=_ip())


def claims(token: str) -> dict[str, Any]:
    secret = get_settings().supabase_jwt_secret
    assert secret is not None
    decoded: dict[str, Any] = jwt.decode(
        token, secret.get_secret_value(), algorithms=["HS256"], audience="authenticated"
    )
    return decoded


async def count_users(conn: Conn, email: str) -> int:
    await as_owner(conn)
    cur = await conn.execute("select count(*) as n from auth.users where lower(email) = lower(%s)", (email,))
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def test_sign_up_returns_a_working_session_with_gotrue_claims(client: httpx.AsyncClient, conn: Conn) -> None:
    data = await sign_up(client, email="Grace.Hopper@Example.test")
    user, session = data["user"], data["session"]
    assert user["email"] == "grace.hopper@example.test"
    assert user["role"] == "user"
    assert session["token_type"] == "bearer" and session["refresh_token"]
    token_claims = claims(session["access_token"])
    assert token_claims["sub"] == user["id"]
    assert token_claims["role"] == "authenticated"
    assert token_claims["user_role"] == "user"
    assert token_claims["user_metadata"]["username"] == user["username"]
    assert (await client.get(PROBE, headers=bearer(session["access_token"]))).status_code == 200
    await as_owner(conn)
    cur = await conn.execute("select encrypted_password from auth.users where id = %s", (user["id"],))
    row = await cur.fetchone()
    assert row is not None and row["encrypted_password"].startswith("$2")  # bcrypt, never the password


async def test_sign_up_with_a_taken_email_is_a_conflict(client: httpx.AsyncClient, conn: Conn) -> None:
    first = await sign_up(client)
    response = await client.post(
        f"{AUTH}/signup",
        json={
            "email": first["user"]["email"].upper(),
            "password": PASSWORD,
            "username": "another_name",
            "full_name": "X",
        },
        headers=_ip(),
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert await count_users(conn, first["user"]["email"]) == 1


async def test_sign_up_with_a_taken_username_is_a_conflict(client: httpx.AsyncClient, conn: Conn) -> None:
    first = await sign_up(client)
    email = f"second-{uuid.uuid4().hex[:8]}@example.test"
    response = await client.post(
        f"{AUTH}/signup",
        json={"email": email, "password": PASSWORD, "username": first["user"]["username"], "full_name": "Y"},
        headers=_ip(),
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "This username is taken"
    assert await count_users(conn, email) == 0


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short1A", "at least 8"),
        ("alllowercaseletters", "Mix at least two"),
        ("Aa1" + "x" * 70, "at most 72 bytes"),
        ("ééééééééééééééééééééééééééééééééééééé1", "at most 72 bytes"),  # 37 chars, 73 bytes
    ],
)
async def test_weak_or_overlong_passwords_get_field_errors_and_create_nothing(
    client: httpx.AsyncClient, conn: Conn, password: str, fragment: str
) -> None:
    email = f"p{uuid.uuid4().hex[:8]}@example.test"
    response = await client.post(
        f"{AUTH}/signup",
        json={"email": email, "password": password, "username": f"p{uuid.uuid4().hex[:8]}", "full_name": "P"},
        headers=_ip(),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert any(fragment in message for message in error["fields"]["password"])
    assert await count_users(conn, email) == 0


async def test_bad_email_and_username_get_field_errors(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{AUTH}/signup",
        json={"email": "not-an-email", "password": PASSWORD, "username": "Has Spaces", "full_name": "N"},
        headers=_ip(),
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"email", "username"}


async def test_sign_in_failures_all_read_the_same(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    wrong_password = await sign_in(client, account["user"]["email"], "Wrong-password-1")
    unknown_email = await sign_in(client, "nobody-here@example.test")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json()["error"]["message"] == unknown_email.json()["error"]["message"]
    good = await sign_in(client, account["user"]["email"])
    assert good.status_code == 200, good.text
    assert good.json()["data"]["user"]["id"] == account["user"]["id"]


async def test_platform_role_reaches_the_token_through_the_hook(client: httpx.AsyncClient, conn: Conn) -> None:
    account = await sign_up(client)
    await as_owner(conn)
    await conn.execute("insert into public.user_roles (user_id, role) values (%s, 'admin')", (account["user"]["id"],))
    # Metadata is the user's own to edit: it must not grant anything.
    await conn.execute(
        'update auth.users set raw_user_meta_data = raw_user_meta_data || \'{"user_role": "superadmin"}\''
        " where id = %s",
        (account["user"]["id"],),
    )
    response = await sign_in(client, account["user"]["email"])
    data = response.json()["data"]
    assert data["user"]["role"] == "admin"
    assert claims(data["session"]["access_token"])["user_role"] == "admin"


async def test_refresh_rotates_and_reuse_ends_the_whole_session(client: httpx.AsyncClient) -> None:
    session = (await sign_up(client))["session"]
    first = await client.post(f"{AUTH}/refresh", json={"refresh_token": session["refresh_token"]})
    assert first.status_code == 200, first.text
    rotated = first.json()["data"]["session"]
    assert rotated["refresh_token"] != session["refresh_token"]
    assert claims(rotated["access_token"])["session_id"] == claims(session["access_token"])["session_id"]
    assert (await client.get(PROBE, headers=bearer(rotated["access_token"]))).status_code == 200

    # The old token again: somebody replayed it. The family (and its session) is revoked.
    replay = await client.post(f"{AUTH}/refresh", json={"refresh_token": session["refresh_token"]})
    assert replay.status_code == 401
    after = await client.post(f"{AUTH}/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    assert (await client.get(PROBE, headers=bearer(rotated["access_token"]))).status_code == 401


async def test_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": "never-issued"})
    assert response.status_code == 401


async def test_sign_out_local_ends_only_this_device(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    laptop = account["session"]["access_token"]
    phone = (await sign_in(client, account["user"]["email"])).json()["data"]["session"]["access_token"]
    response = await client.post(f"{AUTH}/signout", json={"scope": "local"}, headers=bearer(laptop))
    assert response.status_code == 200, response.text
    assert (await client.get(PROBE, headers=bearer(laptop))).status_code == 401
    assert (await client.get(PROBE, headers=bearer(phone))).status_code == 200


async def test_sign_out_everywhere_makes_every_token_fail_at_once(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    laptop = account["session"]
    phone = (await sign_in(client, account["user"]["email"])).json()["data"]["session"]
    for token in (laptop["access_token"], phone["access_token"]):
        assert (await client.get(PROBE, headers=bearer(token))).status_code == 200
    response = await client.post(f"{AUTH}/signout", json={"scope": "global"}, headers=bearer(phone["access_token"]))
    assert response.status_code == 200
    for token in (laptop["access_token"], phone["access_token"]):
        refused = await client.get(PROBE, headers=bearer(token))
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "UNAUTHORIZED"
    # Refresh tokens of those sessions are dead too.
    for refresh in (laptop["refresh_token"], phone["refresh_token"]):
        assert (await client.post(f"{AUTH}/refresh", json={"refresh_token": refresh})).status_code == 401


async def test_sign_out_needs_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{AUTH}/signout", json={"scope": "global"})).status_code == 401


async def test_reset_password_answers_the_same_whether_or_not_the_email_exists(
    client: httpx.AsyncClient, conn: Conn
) -> None:
    account = await sign_up(client)
    known = await client.post(f"{AUTH}/reset-password", json={"email": account["user"]["email"]}, headers=_ip())
    unknown = await client.post(f"{AUTH}/reset-password", json={"email": "ghost@example.test"}, headers=_ip())
    assert known.status_code == unknown.status_code == 200
    assert known.json()["data"] == unknown.json()["data"]
    await as_owner(conn)
    cur = await conn.execute("select recovery_token from auth.users where id = %s", (account["user"]["id"],))
    row = await cur.fetchone()
    assert row is not None and row["recovery_token"]


async def test_update_password_changes_what_signs_in(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    token = account["session"]["access_token"]
    weak = await client.post(f"{AUTH}/update-password", json={"password": "short"}, headers=bearer(token))
    assert weak.status_code == 400 and "password" in weak.json()["error"]["fields"]
    new_password = "Another-good-pass-7"
    response = await client.post(f"{AUTH}/update-password", json={"password": new_password}, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert (await sign_in(client, account["user"]["email"])).status_code == 401
    assert (await sign_in(client, account["user"]["email"], new_password)).status_code == 200


async def test_update_password_requires_a_live_session(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    token = account["session"]["access_token"]
    await client.post(f"{AUTH}/signout", json={"scope": "local"}, headers=bearer(token))
    response = await client.post(
        f"{AUTH}/update-password", json={"password": "Brand-new-pass-1"}, headers=bearer(token)
    )
    assert response.status_code == 401
    assert (await sign_in(client, account["user"]["email"])).status_code == 200


async def test_ban_refuses_existing_tokens_at_once_and_new_sign_ins(client: httpx.AsyncClient, conn: Conn) -> None:
    account = await sign_up(client)
    token = account["session"]["access_token"]
    admin = await create_platform_user(conn, "admin")
    response = await client.patch(
        f"/api/v1/admin/users/{account['user']['id']}",
        json={"banned": True, "ban_reason": "spam", "ban_expires": "2099-01-01T00:00:00Z"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    refused = await client.get(PROBE, headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FORBIDDEN"
    assert (await sign_in(client, account["user"]["email"])).status_code == 403
    refresh = await client.post(f"{AUTH}/refresh", json={"refresh_token": account["session"]["refresh_token"]})
    assert refresh.status_code == 403


async def test_sign_in_is_limited_to_five_attempts_per_window(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    ip = {"X-Forwarded-For": "203.0.113.77"}
    body = {"email": account["user"]["email"], "password": "Wrong-password-1"}
    statuses = [(await client.post(f"{AUTH}/signin", json=body, headers=ip)).status_code for _ in range(5)]
    assert statuses == [401] * 5
    blocked = await client.post(f"{AUTH}/signin", json={**body, "password": PASSWORD}, headers=ip)
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "RATE_LIMITED"
    assert blocked.headers["RateLimit-Limit"] == "5"
    assert blocked.headers["RateLimit-Remaining"] == "0"
    assert 0 < int(blocked.headers["Retry-After"]) <= 900
    # Another address is not affected.
    assert (await sign_in(client, account["user"]["email"])).status_code == 200


async def test_successful_limited_responses_carry_ratelimit_headers(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{AUTH}/reset-password", json={"email": "x@example.test"}, headers=_ip())
    assert response.headers["RateLimit-Limit"] == "3"
    assert response.headers["RateLimit-Remaining"] == "2"


async def test_sign_up_is_limited_to_three_per_hour_per_address(client: httpx.AsyncClient) -> None:
    ip = {"X-Forwarded-For": "203.0.113.90"}

    def body() -> dict[str, str]:
        name = f"r{uuid.uuid4().hex[:10]}"
        return {"email": f"{name}@example.test", "password": PASSWORD, "username": name, "full_name": "R"}

    statuses = [(await client.post(f"{AUTH}/signup", json=body(), headers=ip)).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
