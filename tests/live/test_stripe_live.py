"""The billing client against Stripe's test mode. Runs only with STRIPE_SECRET_KEY=sk_test_...;
everything it creates is removed at the end (the customer, and with it the subscription)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from shared.errors import ServiceUnavailable
from shared.providers.billing import CheckoutRequest, StripeBilling, stripe_client

KEY = os.environ.get("STRIPE_SECRET_KEY", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not KEY.startswith("sk_test_"), reason="STRIPE_SECRET_KEY with a sk_test_ key is not set"),
]


@pytest.fixture(scope="module")
async def price_id() -> str:
    configured = os.environ.get("STRIPE_PRO_PRICE_ID")
    if configured:
        return configured
    price = await stripe_client(KEY).v1.prices.create_async(
        {
            "currency": "usd",
            "unit_amount": 1900,
            "recurring": {"interval": "month"},
            "product_data": {"name": "ugig Pro (live test)"},
        }
    )
    return str(price.id)


@pytest.fixture
async def customer() -> AsyncIterator[tuple[StripeBilling, str, str]]:
    billing = StripeBilling(KEY)
    user_id = str(uuid.uuid4())
    customer_id = await billing.create_customer(
        user_id=user_id, email=f"live-{user_id[:8]}@example.test", idempotency_key=f"ugig-live-{user_id}"
    )
    yield billing, user_id, customer_id
    await stripe_client(KEY).v1.customers.delete_async(customer_id)


async def test_customer_creation_is_idempotent(customer: tuple[StripeBilling, str, str]) -> None:
    billing, user_id, customer_id = customer
    again = await billing.create_customer(user_id=user_id, email=None, idempotency_key=f"ugig-live-{user_id}")
    assert again == customer_id


async def test_checkout_session_url(customer: tuple[StripeBilling, str, str], price_id: str) -> None:
    billing, user_id, customer_id = customer
    url = await billing.create_checkout_session(
        CheckoutRequest(
            user_id=user_id,
            customer_id=customer_id,
            price_id=price_id,
            success_url="https://example.test/ok?session_id={CHECKOUT_SESSION_ID}",
            cancel_url="https://example.test/cancel",
            idempotency_key=f"ugig-live-checkout-{user_id}",
        )
    )
    assert url.startswith("https://checkout.stripe.com/")


async def test_cancel_at_period_end(customer: tuple[StripeBilling, str, str], price_id: str) -> None:
    billing, user_id, customer_id = customer
    client = stripe_client(KEY)
    method = await client.v1.payment_methods.attach_async("pm_card_visa", {"customer": customer_id})
    sub = await client.v1.subscriptions.create_async(
        {
            "customer": customer_id,
            "items": [{"price": price_id}],
            "default_payment_method": method.id,
            "metadata": {"user_id": user_id},
        }
    )
    result = await billing.cancel_at_period_end(subscription_id=sub.id, idempotency_key=f"ugig-live-cancel-{sub.id}")
    assert result.cancel_at_period_end is True


async def test_portal_session_or_a_clear_error(customer: tuple[StripeBilling, str, str]) -> None:
    billing, _, customer_id = customer
    try:
        url = await billing.create_portal_session(customer_id=customer_id, return_url="https://example.test/billing")
    except ServiceUnavailable:
        pytest.skip("the test account has no Billing Portal configuration saved")
    assert url.startswith("https://billing.stripe.com/")
