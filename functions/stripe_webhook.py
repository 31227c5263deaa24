"""POST /api/webhooks/stripe: Stripe's events, verified on the raw body, applied once each.

Answers: 400 (envelope, nothing written) when the signature does not verify; 200 for processed,
duplicate and unhandled event types (a 4xx would make Stripe retry and then disable the endpoint);
5xx when processing fails, so Stripe retries (the event id was rolled back with everything else).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import stripe
from fastapi import APIRouter, Request
from mangum import Mangum
from pydantic import BaseModel

from shared.config import get_settings
from shared.errors import ServiceUnavailable, ValidationFailed
from shared.services import stripe_events, usage
from shared.web.app import create_app
from shared.web.deps import Db
from shared.web.envelope import Envelope, ok

router = APIRouter(tags=["stripe"])

# Stripe's own default; older deliveries are refused as possible replays.
SIGNATURE_TOLERANCE_SECONDS = 300


class WebhookReceipt(BaseModel):
    received: Literal[True] = True
    event_id: str
    outcome: stripe_events.Outcome


@router.post("/api/webhooks/stripe", response_model=Envelope[WebhookReceipt])
async def stripe_webhook(request: Request, db: Db) -> Any:
    settings = get_settings()
    secret = settings.stripe_webhook_secret
    if secret is None or not secret.get_secret_value():
        raise ServiceUnavailable("Billing is not configured")
    payload = await request.body()
    signature = request.headers.get("stripe-signature")
    if not signature:
        raise ValidationFailed.field("stripe-signature", "The Stripe-Signature header is missing")
    try:
        stripe.Webhook.construct_event(payload, signature, secret.get_secret_value(), SIGNATURE_TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise ValidationFailed.field("stripe-signature", "The Stripe signature does not verify") from exc
    except ValueError as exc:
        raise ValidationFailed("The body is not a Stripe event") from exc
    # Verified: work on the plain JSON (stripe-python's objects are not dicts).
    event: dict[str, Any] = json.loads(payload)
    # Plan changes land here: make sure the limit they switch to is the configured one.
    await usage.sync_plan_settings(db, settings)
    outcome = await stripe_events.handle_event(db, event)
    return ok(WebhookReceipt(event_id=str(event["id"]), outcome=outcome))


app = create_app(router, title="ugig stripe webhook", docs=False)
handler = Mangum(app, lifespan="off")
