"""The Stripe webhook's own Lambda (functions/stripe_webhook.handler), called as API Gateway v2 calls it:
the raw body reaches signature verification byte for byte, base64-encoded or not."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from shared.config import get_settings
from tests.conftest import LambdaInvoke
from tests.factories.billing import WEBHOOK_PATH, WEBHOOK_SECRET, StripeCustomer, checkout_completed, sign, to_body


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(get_settings(), "stripe_webhook_secret", SecretStr(WEBHOOK_SECRET))
    yield


def committed_user(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "insert into auth.users (email, aud, role) values (%s, 'authenticated', 'authenticated') returning id",
            (f"lambda-{uuid.uuid4().hex[:8]}@example.test",),
        ).fetchone()
        assert row is not None
        return str(row[0])


def apigw_event(body: str, headers: dict[str, str], *, base64_encoded: bool) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"POST {WEBHOOK_PATH}",
        "rawPath": WEBHOOK_PATH,
        "rawQueryString": "",
        "headers": {
            "host": "k3xa9p2d1e.execute-api.eu-west-1.amazonaws.com",
            "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "x-forwarded-for": "3.18.12.63",
            "x-request-id": "rec-stripe-0001",
            **{k.lower(): v for k, v in headers.items()},
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "k3xa9p2d1e",
            "domainName": "k3xa9p2d1e.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "k3xa9p2d1e",
            "http": {
                "method": "POST",
                "path": WEBHOOK_PATH,
                "protocol": "HTTP/1.1",
                "sourceIp": "3.18.12.63",
                "userAgent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
            "requestId": "Qm8fWjR5IAMEVxh=",
            "routeKey": f"POST {WEBHOOK_PATH}",
            "stage": "$default",
            "time": "21/Nov/2026:20:40:12 +0000",
            "timeEpoch": 1795293612000,
        },
        "body": base64.b64encode(body.encode()).decode() if base64_encoded else body,
        "isBase64Encoded": base64_encoded,
    }


@pytest.mark.parametrize("base64_encoded", [False, True], ids=["plain", "base64"])
def test_webhook_handler_applies_a_signed_event(
    lambda_invoke: LambdaInvoke, module_db_url: str, base64_encoded: bool
) -> None:
    from functions import stripe_webhook

    user_id = committed_user(module_db_url)
    who = StripeCustomer(user_id=user_id)
    body = json.dumps(checkout_completed(who, 1_795_000_000), indent=1)  # whitespace is signed too
    result = lambda_invoke(stripe_webhook, apigw_event(body, sign(body), base64_encoded=base64_encoded))
    assert result["statusCode"] == 200, result["body"]
    assert json.loads(result["body"])["data"]["outcome"] == "processed"
    with psycopg.connect(module_db_url) as conn:
        row = conn.execute(
            "select plan, stripe_customer_id from public.subscriptions where user_id = %s", (user_id,)
        ).fetchone()
    assert row == ("pro", who.customer_id)


def test_webhook_handler_refuses_a_forged_event(lambda_invoke: LambdaInvoke, module_db_url: str) -> None:
    from functions import stripe_webhook

    user_id = committed_user(module_db_url)
    body = to_body(checkout_completed(StripeCustomer(user_id=user_id), 1_795_000_000))
    result = lambda_invoke(stripe_webhook, apigw_event(body, sign(body, secret="whsec_forged"), base64_encoded=False))
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] == "VALIDATION_ERROR"
    with psycopg.connect(module_db_url) as conn:
        row = conn.execute("select plan from public.subscriptions where user_id = %s", (user_id,)).fetchone()
    assert row == ("free",)
