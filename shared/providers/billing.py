"""The one billing client: every outgoing Stripe call goes through here.

`StripeBilling` uses the official `stripe` package (`StripeClient`, async methods over httpx).
Without STRIPE_SECRET_KEY (local runs) `UnconfiguredBilling` answers every call with 503 "Billing is
not configured": no local server implements Checkout or the Billing Portal, so a fake URL would only
pretend. Tests point a real `StripeBilling` at a local HTTP server with `base_url`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import stripe
from stripe.params import CustomerCreateParams
from stripe.params.checkout import SessionCreateParams

from shared.config import Settings, get_settings
from shared.errors import ServiceUnavailable
from shared.logging import get_logger

log = get_logger("billing")


@dataclass(frozen=True)
class CheckoutRequest:
    user_id: str
    customer_id: str
    price_id: str
    success_url: str
    cancel_url: str
    idempotency_key: str


@dataclass(frozen=True)
class CanceledSubscription:
    subscription_id: str
    cancel_at_period_end: bool


class BillingClient(Protocol):
    async def create_customer(self, *, user_id: str, email: str | None, idempotency_key: str) -> str:
        """Returns the new customer's id."""
        ...

    async def create_checkout_session(self, request: CheckoutRequest) -> str:
        """Returns the Checkout page URL."""
        ...

    async def create_portal_session(self, *, customer_id: str, return_url: str) -> str:
        """Returns the Billing Portal URL."""
        ...

    async def cancel_at_period_end(self, *, subscription_id: str, idempotency_key: str) -> CanceledSubscription: ...


class UnconfiguredBilling:
    """What runs without a Stripe key: a clear, retry-safe 503 instead of a pretend checkout."""

    def _fail(self) -> ServiceUnavailable:
        return ServiceUnavailable("Billing is not configured")

    async def create_customer(self, *, user_id: str, email: str | None, idempotency_key: str) -> str:
        raise self._fail()

    async def create_checkout_session(self, request: CheckoutRequest) -> str:
        raise self._fail()

    async def create_portal_session(self, *, customer_id: str, return_url: str) -> str:
        raise self._fail()

    async def cancel_at_period_end(self, *, subscription_id: str, idempotency_key: str) -> CanceledSubscription:
        raise self._fail()


class _HTTPXClient(stripe.HTTPXClient):
    """stripe's async httpx client, sending the encoded form as `content=`: passing a string as `data=`
    is deprecated in httpx (a DeprecationWarning per call)."""

    def _get_request_args_kwargs(self, method: str, url: str, headers: Mapping[str, str], post_data: Any) -> list[Any]:
        args: list[Any] = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs = args[1]
        data = kwargs.pop("data", None)
        if data:
            kwargs["content"] = data
        return args


def stripe_client(api_key: str, *, base_url: str | None = None, max_network_retries: int = 2) -> stripe.StripeClient:
    """The official client, async over httpx; `base_url` points it elsewhere (tests' local server)."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base_url} if base_url else None,
        http_client=_HTTPXClient(timeout=20),
        # Stripe's client retries network errors and 409/429/5xx; our POSTs carry idempotency keys.
        max_network_retries=max_network_retries,
    )


class StripeBilling:
    def __init__(self, api_key: str, *, base_url: str | None = None, max_network_retries: int = 2) -> None:
        self._client = stripe_client(api_key, base_url=base_url, max_network_retries=max_network_retries)

    async def _call(self, what: str, coro: Any) -> Any:
        try:
            return await coro
        except stripe.StripeError as exc:
            # Never echo Stripe's message (it can name ids or parameters); log the kind only.
            log.error(
                "stripe call failed",
                extra={"call": what, "error_class": type(exc).__name__, "http_status": exc.http_status},
            )
            raise ServiceUnavailable("Billing is unavailable right now; try again shortly") from exc

    async def create_customer(self, *, user_id: str, email: str | None, idempotency_key: str) -> str:
        params: CustomerCreateParams = {"metadata": {"user_id": user_id}}
        if email:
            params["email"] = email
        customer = await self._call(
            "customers.create",
            self._client.v1.customers.create_async(params, {"idempotency_key": idempotency_key}),
        )
        return str(customer.id)

    async def create_checkout_session(self, request: CheckoutRequest) -> str:
        params: SessionCreateParams = {
            "mode": "subscription",
            "customer": request.customer_id,
            "line_items": [{"price": request.price_id, "quantity": 1}],
            "client_reference_id": request.user_id,
            "metadata": {"user_id": request.user_id},
            "subscription_data": {"metadata": {"user_id": request.user_id}},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        session = await self._call(
            "checkout.sessions.create",
            self._client.v1.checkout.sessions.create_async(params, {"idempotency_key": request.idempotency_key}),
        )
        return str(session.url)

    async def create_portal_session(self, *, customer_id: str, return_url: str) -> str:
        session = await self._call(
            "billing_portal.sessions.create",
            self._client.v1.billing_portal.sessions.create_async({"customer": customer_id, "return_url": return_url}),
        )
        return str(session.url)

    async def cancel_at_period_end(self, *, subscription_id: str, idempotency_key: str) -> CanceledSubscription:
        subscription = await self._call(
            "subscriptions.update",
            self._client.v1.subscriptions.update_async(
                subscription_id, {"cancel_at_period_end": True}, {"idempotency_key": idempotency_key}
            ),
        )
        return CanceledSubscription(
            subscription_id=str(subscription.id), cancel_at_period_end=bool(subscription.cancel_at_period_end)
        )


_billing: BillingClient | None = None


def get_billing(settings: Settings | None = None) -> BillingClient:
    global _billing
    if _billing is None:
        settings = settings or get_settings()
        key = settings.stripe_secret_key.get_secret_value() if settings.stripe_secret_key else ""
        _billing = StripeBilling(key) if key else UnconfiguredBilling()
    return _billing


def set_billing(client: BillingClient | None) -> None:
    """Tests point the app at their own client (a StripeBilling aimed at a local server)."""
    global _billing
    _billing = client
