"""The webhook events: a ping an admin asked for, and an endpoint the worker disabled.

Both are about the endpoint (entity ``WebhookEndpoint``); like every event they are
read by admins only (the policy table's ``IntegrationEvent`` scopes name no other
role for this entity type), so the organization's admins learn that an endpoint
stopped receiving from the events query, a webhook of another endpoint, or email.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from app.events.catalog import declare


class WebhookPingPayload(TypedDict):
    url: str


class WebhookDisabledPayload(TypedDict):
    url: str
    reason: Literal["gone", "failing"]  # 410 Gone, or failed for a whole retry window
    lastStatusCode: int | None  # the last attempt's HTTP status (null: no response)


WEBHOOK_PING = declare(
    "webhook_endpoint.ping",
    "WebhookEndpoint",
    WebhookPingPayload,
    "An admin asked for a test delivery; it goes to this endpoint only, whatever event types it wants.",
)
WEBHOOK_DISABLED = declare(
    "webhook_endpoint.disabled",
    "WebhookEndpoint",
    WebhookDisabledPayload,
    "The worker disabled an endpoint: it answered 410 Gone, or failed every attempt for a whole retry window."
    " Deliveries wait until an admin enables it again.",
)
