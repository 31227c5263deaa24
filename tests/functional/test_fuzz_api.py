"""Property-based fuzzing of the whole OpenAPI of functions/app.py (schemathesis strategies driven by
Hypothesis): for every operation, valid and invalid requests, anonymous, as a user and as an admin,
never get a 5xx, and every answer is in the contract's envelope with a status that agrees with it.

The app runs on a real pool over this module's own database (committed writes: what the fuzzer
creates stays for the next cases, as it would in production). Cases are derandomized, so CI runs are
reproducible; UGIG_FUZZ_EXAMPLES sets the number of cases per operation.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode

from shared.auth.tokens import TokenVerifier
from shared.config import get_settings
from shared.db import Database
from shared.providers.billing import StripeBilling, set_billing
from shared.providers.storage import LocalStorage, set_storage
from tests.conftest import connect
from tests.factories.billing import PRO_PRICE_ID, WEBHOOK_SECRET, fake_stripe_server
from tests.factories.users import TestUser, create_user

EXAMPLES = int(os.environ.get("UGIG_FUZZ_EXAMPLES", "150"))
CODES = {
    "VALIDATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "LIMIT_EXCEEDED": 402,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RATE_LIMITED": 429,
}


def _load_openapi() -> dict[str, Any]:
    from functions.app import app  # its Mangum handlers take the Lambda loop tests/conftest.py installs

    return app.openapi()


SCHEMA = schemathesis.openapi.from_dict(_load_openapi())
OPERATIONS = {(op.method.upper(), op.path): op for op in (r.ok() for r in SCHEMA.get_all_operations())}


@dataclass
class FuzzEnv:
    loop: asyncio.AbstractEventLoop
    client: httpx.AsyncClient
    db: Database
    tokens: dict[str, str]
    users: dict[str, TestUser]
    url: str

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)


@pytest.fixture(scope="module")
def fuzz_env(module_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzEnv]:
    from functions.app import app

    loop = asyncio.new_event_loop()
    settings_ = get_settings().model_copy(update={"database_url": module_db_url, "db_pool_min_size": 1})
    db = Database.from_settings(settings_)

    async def setup() -> dict[str, TestUser]:
        conn = await connect(module_db_url)
        try:
            return {
                "user": await create_user(conn),
                "admin": await create_user(conn, platform_role="admin"),
            }
        finally:
            await conn.close()

    users = loop.run_until_complete(setup())
    set_storage(LocalStorage(tmp_path_factory.mktemp("fuzz-storage"), "http://fuzz", b"fuzz-key"))
    # Billing configured as in its own tests (a local server playing Stripe), or every billing route
    # would rightly answer 503 "not configured" and be fuzzed no further.
    patch = pytest.MonkeyPatch()
    stripe_context = fake_stripe_server()
    stripe_server = stripe_context.__enter__()
    patch.setattr(get_settings(), "stripe_pro_price_id", PRO_PRICE_ID)
    patch.setattr(get_settings(), "stripe_webhook_secret", SecretStr(WEBHOOK_SECRET))
    set_billing(StripeBilling("sk_test_local_not_a_real_key", base_url=stripe_server.base_url, max_network_retries=0))
    saved = (getattr(app.state, "db", None), getattr(app.state, "verifier", None))
    app.state.db, app.state.verifier = db, TokenVerifier(settings_)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fuzz")
    env = FuzzEnv(loop, client, db, {k: u.token for k, u in users.items()}, users, module_db_url)
    try:
        yield env
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(db.close())
        loop.close()
        app.state.db, app.state.verifier = saved
        set_storage(None)
        set_billing(None)
        patch.undo()
        stripe_context.__exit__(None, None, None)


async def _revive(env: FuzzEnv) -> None:
    """A fuzzed sign-out, ban or role change must not turn the rest of the run into 401s."""
    conn = await connect(env.url)
    try:
        for who in env.users.values():
            await conn.execute(
                "insert into auth.sessions (id, user_id) values (%s, %s) on conflict (id) do nothing",
                (who.session_id, who.id),
            )
            await conn.execute("update auth.users set banned_until = null, deleted_at = null where id = %s", (who.id,))
    finally:
        await conn.close()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _request_kwargs(kwargs: dict[str, Any], token: str | None) -> dict[str, Any]:
    """schemathesis speaks `requests`; translate to httpx."""
    headers = {}
    for name, value in (kwargs.get("headers") or {}).items():
        text = str(value)
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            continue  # not sendable over HTTP/1.1 at all; a real client cannot produce it either
        if "\n" not in text and "\r" not in text:
            headers[name] = text
    headers.pop("Authorization", None)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    out: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": headers,
        "params": {k: _plain(v) for k, v in (kwargs.get("params") or {}).items()},
    }
    if "json" in kwargs:
        out["content"] = json.dumps(kwargs["json"]).encode()
        headers["Content-Type"] = "application/json"
    elif kwargs.get("files"):
        files, data = [], {}
        for field, part in kwargs["files"]:
            filename, content = part[0], part[1]
            if filename is None:
                data[field] = content if isinstance(content, str) else str(content)
            else:
                files.append((field, (filename, content if isinstance(content, bytes) else str(content).encode())))
        out["files"], out["data"] = files or None, data or None
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        out["content"] = data if isinstance(data, bytes) else str(data).encode()
    return out


def check_response(response: httpx.Response, label: str) -> None:
    where = f"{label} -> {response.status_code} {response.text[:300]}"
    assert response.status_code < 500, where
    assert response.status_code != 422, where  # the contract uses 400 for validation
    assert response.headers.get("content-type", "").startswith("application/json"), where
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("success"), bool), where
    assert body.get("traceId") == response.headers.get("x-request-id"), where
    assert body["success"] is (200 <= response.status_code < 300), where
    if body["success"]:
        assert "data" in body, where
        return
    error = body.get("error")
    assert isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"], where
    assert CODES.get(error.get("code")) == response.status_code, where
    if "fields" in error:
        assert error["code"] == "VALIDATION_ERROR", where  # CONTRACT.md: fields on validation errors only
        assert all(isinstance(k, str) and isinstance(v, list) for k, v in error["fields"].items()), where
    assert "Traceback" not in response.text, where


@pytest.mark.parametrize("operation", sorted(OPERATIONS), ids=lambda key: f"{key[0]} {key[1]}")
def test_operation_never_fails_and_always_answers_in_the_envelope(
    fuzz_env: FuzzEnv, operation: tuple[str, str]
) -> None:
    op = OPERATIONS[operation]
    cases = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))
    fuzz_env.run(_revive(fuzz_env))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, who=st.sampled_from(["user", "anon", "admin"]))
    def fuzz(case: Any, who: str) -> None:
        kwargs = _request_kwargs(case.as_transport_kwargs(base_url="http://fuzz"), fuzz_env.tokens.get(who))
        try:
            response = fuzz_env.run(fuzz_env.client.request(**kwargs))
        except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError, TypeError, ValueError):
            return  # the client library cannot even send this request
        check_response(response, f"{operation[0]} {operation[1]} as {who}")

    fuzz()
