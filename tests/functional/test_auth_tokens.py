"""Token verification end to end: every bad token is refused in the envelope, a good one reaches the
handler and its claims reach the database."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import APIRouter

from shared.auth.tokens import JwksCache, TokenVerifier
from shared.config import get_settings
from shared.db import Conn, Database
from shared.web.app import create_app
from shared.web.deps import CurrentUser, Db, OptionalUser
from shared.web.envelope import ok
from tests.factories.users import TestUser, as_owner

router = APIRouter()


@router.get("/whoami")
async def whoami(user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        cur = await conn.execute(
            "select auth.uid()::text as uid, auth.jwt() ->> 'email' as email, current_user as role"
        )
        row = await cur.fetchone()
    return ok(row)


@router.get("/maybe")
async def maybe(user: OptionalUser) -> Any:
    return ok({"anonymous": user is None})


class _JwksHandler(BaseHTTPRequestHandler):
    document: bytes = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.document)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def jwks_url(ec_key: ec.EllipticCurvePrivateKey) -> Iterator[str]:
    public_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    public_jwk.update({"kid": "key-1", "alg": "ES256", "use": "sig"})
    _JwksHandler.document = json.dumps({"keys": [public_jwk]}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/auth/v1/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def http(db: Database, jwks_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(router)
    app.state.db = db
    app.state.verifier = TokenVerifier(get_settings(), JwksCache(jwks_url))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["traceId"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text


async def test_valid_token_reaches_handler_and_database_with_its_claims(
    http: httpx.AsyncClient, user: TestUser
) -> None:
    response = await http.get("/whoami", headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["data"] == {"uid": str(user.id), "email": user.email, "role": "api_user"}


async def test_es256_token_from_jwks_is_accepted(
    http: httpx.AsyncClient, user: TestUser, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(user.claims, ec_key, algorithm="ES256", headers={"kid": "key-1"})
    response = await http.get("/whoami", headers=bearer(token))
    assert response.status_code == 200, response.text


async def test_unknown_key_id_is_refused(
    http: httpx.AsyncClient, user: TestUser, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(user.claims, ec_key, algorithm="ES256", headers={"kid": "no-such-key"})
    assert_error(await http.get("/whoami", headers=bearer(token)), 401, "UNAUTHORIZED")


async def test_key_from_another_project_is_refused(http: httpx.AsyncClient, user: TestUser) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(user.claims, other, algorithm="ES256", headers={"kid": "key-1"})
    assert_error(await http.get("/whoami", headers=bearer(token)), 401, "UNAUTHORIZED")


async def test_expired_token_is_refused(http: httpx.AsyncClient, user: TestUser) -> None:
    secret = get_settings().supabase_jwt_secret
    assert secret is not None
    claims = {**user.claims, "exp": int(time.time()) - 5, "iat": int(time.time()) - 3600}
    response = await http.get("/whoami", headers=bearer(jwt.encode(claims, secret.get_secret_value(), "HS256")))
    assert_error(response, 401, "UNAUTHORIZED")
    assert "expired" in response.json()["error"]["message"]


async def test_wrong_audience_is_refused(http: httpx.AsyncClient, user: TestUser) -> None:
    secret = get_settings().supabase_jwt_secret
    assert secret is not None
    claims = {**user.claims, "aud": "some-other-api"}
    token = jwt.encode(claims, secret.get_secret_value(), "HS256")
    assert_error(await http.get("/whoami", headers=bearer(token)), 401, "UNAUTHORIZED")


async def test_wrong_signature_is_refused(http: httpx.AsyncClient, user: TestUser) -> None:
    token = jwt.encode(user.claims, "another-projects-secret-of-enough-length", "HS256")
    assert_error(await http.get("/whoami", headers=bearer(token)), 401, "UNAUTHORIZED")


async def test_alg_none_is_refused(http: httpx.AsyncClient, user: TestUser) -> None:
    token = jwt.encode(user.claims, None, algorithm="none")
    assert_error(await http.get("/whoami", headers=bearer(token)), 401, "UNAUTHORIZED")


async def test_hs256_signed_with_the_public_key_is_refused(
    http: httpx.AsyncClient, user: TestUser, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # Forge by hand: PyJWT refuses to use a PEM as an HMAC secret, an attacker would not.
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "key-1"}).encode())
    payload = jwt.utils.base64url_encode(json.dumps(user.claims).encode())
    import hashlib
    import hmac

    signature = hmac.new(pem, header + b"." + payload, hashlib.sha256).digest()
    token = b".".join([header, payload, jwt.utils.base64url_encode(signature)]).decode()
    assert_error(await http.get("/whoami", headers=bearer(token)), 401, "UNAUTHORIZED")


async def test_anon_role_token_is_refused(http: httpx.AsyncClient, user: TestUser) -> None:
    secret = get_settings().supabase_jwt_secret
    assert secret is not None
    token = jwt.encode({**user.claims, "role": "anon"}, secret.get_secret_value(), "HS256")
    assert_error(await http.get("/whoami", headers=bearer(token)), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("header", ["Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "garbage", "Bearer not.a.jwt"])
async def test_malformed_authorization_header_is_refused(http: httpx.AsyncClient, header: str) -> None:
    assert_error(await http.get("/whoami", headers={"Authorization": header}), 401, "UNAUTHORIZED")


async def test_missing_token_on_protected_route(http: httpx.AsyncClient) -> None:
    response = await http.get("/whoami")
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_public_route_accepts_no_token_but_refuses_a_bad_one(http: httpx.AsyncClient) -> None:
    response = await http.get("/maybe")
    assert response.json()["data"] == {"anonymous": True}
    assert_error(await http.get("/maybe", headers=bearer("x.y.z")), 401, "UNAUTHORIZED")


async def test_signed_out_session_is_refused_at_once(http: httpx.AsyncClient, conn: Conn, user: TestUser) -> None:
    assert (await http.get("/whoami", headers=user.headers)).status_code == 200
    await as_owner(conn)
    await conn.execute("delete from auth.sessions where id = %s", (user.session_id,))
    assert_error(await http.get("/whoami", headers=user.headers), 401, "UNAUTHORIZED")


async def test_token_without_session_is_refused(http: httpx.AsyncClient, user: TestUser) -> None:
    secret = get_settings().supabase_jwt_secret
    assert secret is not None
    claims = {k: v for k, v in user.claims.items() if k != "session_id"}
    assert_error(
        await http.get("/whoami", headers=bearer(jwt.encode(claims, secret.get_secret_value()))), 401, "UNAUTHORIZED"
    )


async def test_session_of_another_user_is_refused(
    http: httpx.AsyncClient, user: TestUser, other_user: TestUser
) -> None:
    secret = get_settings().supabase_jwt_secret
    assert secret is not None
    claims = {**user.claims, "session_id": str(other_user.session_id)}
    assert_error(
        await http.get("/whoami", headers=bearer(jwt.encode(claims, secret.get_secret_value()))), 401, "UNAUTHORIZED"
    )


async def test_banned_user_is_forbidden_at_once_and_unbanned_later(
    http: httpx.AsyncClient, conn: Conn, user: TestUser
) -> None:
    await as_owner(conn)
    await conn.execute("update auth.users set banned_until = now() + interval '1 day' where id = %s", (user.id,))
    assert_error(await http.get("/whoami", headers=user.headers), 403, "FORBIDDEN")
    await as_owner(conn)
    await conn.execute("update auth.users set banned_until = now() - interval '1 second' where id = %s", (user.id,))
    assert (await http.get("/whoami", headers=user.headers)).status_code == 200


async def test_deleted_user_is_refused(http: httpx.AsyncClient, conn: Conn) -> None:
    from tests.factories.users import create_user

    ghost = await create_user(conn)
    await as_owner(conn)
    await conn.execute("update auth.users set deleted_at = now() where id = %s", (ghost.id,))
    assert_error(await http.get("/whoami", headers=ghost.headers), 401, "UNAUTHORIZED")


async def test_token_for_unknown_user_is_refused(http: httpx.AsyncClient, user: TestUser) -> None:
    secret = get_settings().supabase_jwt_secret
    assert secret is not None
    claims = {**user.claims, "sub": str(uuid.uuid4())}
    assert_error(
        await http.get("/whoami", headers=bearer(jwt.encode(claims, secret.get_secret_value()))), 401, "UNAUTHORIZED"
    )
