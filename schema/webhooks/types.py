"""Webhook endpoint, delivery and attempt types."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.connections import connection_types
from schema.node import Node
from schema.pagination import connection_field

if TYPE_CHECKING:  # the lazy reference below, for the type checker
    from schema.activity.types import IntegrationEvent

IntegrationEventRef = Annotated["IntegrationEvent", strawberry.lazy("schema.activity.types")]


@strawberry.enum(description="Why an endpoint receives nothing.")
class WebhookDisabledReason(enum.Enum):
    MANUAL = "MANUAL"
    GONE = "GONE"
    FAILING = "FAILING"


@strawberry.enum(
    description="Where a delivery stands: PENDING (waiting for its first attempt or a retry), DELIVERING (a worker "
    "is sending it), DELIVERED (the receiver answered 2xx), FAILED (retries exhausted, or the receiver answered "
    "410 Gone)."
)
class WebhookDeliveryStatus(enum.Enum):
    PENDING = "PENDING"
    DELIVERING = "DELIVERING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@strawberry.type(
    description="A URL the organization's events are POSTed to, signed (Standard Webhooks), with its delivery "
    "figures. Its secret is shown once, when it is created or rotated. Admins only."
)
class WebhookEndpoint(Node):
    url: str = strawberry.field(description="Where events are POSTed (https outside development).")
    description: str | None = strawberry.field(description="What the endpoint is for.")
    event_types: list[str] = strawberry.field(description="The event types it receives (README: the event catalog).")
    enabled: bool = strawberry.field(description="Whether it receives events now.")
    disabled_reason: WebhookDisabledReason | None = strawberry.field(
        description="Why it is disabled: MANUAL (an admin), GONE (it answered 410), FAILING (it failed for a whole "
        "retry window); null when enabled."
    )
    disabled_at: dt.datetime | None = strawberry.field(description="When it was disabled.")
    timeout_seconds: int = strawberry.field(description="How long one attempt may take.")
    max_concurrency: int = strawberry.field(description="How many deliveries may be in flight to it at once.")
    secret_rotated_at: dt.datetime | None = strawberry.field(description="When its secret was last rotated.")
    previous_secret_expires_at: dt.datetime | None = strawberry.field(
        description="Until when the previous secret still signs too (after a rotation); null when it does not."
    )
    failing_since: dt.datetime | None = strawberry.field(
        description="The first failed attempt since its last success; null while it succeeds."
    )
    last_success_at: dt.datetime | None = strawberry.field(description="When it last answered 2xx.")
    queue_depth: int = strawberry.field(description="Deliveries not yet delivered nor failed (pending or in flight).")
    oldest_undelivered_at: dt.datetime | None = strawberry.field(
        description="When the oldest delivery still in the queue was queued."
    )
    oldest_undelivered_age_seconds: int | None = strawberry.field(
        description="How long the oldest delivery still in the queue has waited, in seconds."
    )
    attempt_count: int = strawberry.field(description="Attempts made to it, kept ones (see `bizgraph prune`).")
    failed_attempt_count: int = strawberry.field(description="Of those, the attempts that did not get a 2xx.")
    failed_delivery_count: int = strawberry.field(description="Deliveries that failed for good.")
    deliveries = connection_field("webhooks", "WebhookDelivery", "The events queued for it, newest first.")
    attempts = connection_field("webhooks", "WebhookAttempt", "Every attempt to it, newest first.")
    history = connection_field("activity", "AuditEntry", "Every change made to the endpoint, newest first.")
    version: int = strawberry.field(description="Incremented on every change; send it back when updating.")
    created_at: dt.datetime = strawberry.field(description="When it was registered.")
    updated_at: dt.datetime = strawberry.field(description="When it last changed.")


@strawberry.type(description="One event for one endpoint, delivered at least once; its attempts are its log.")
class WebhookDelivery(Node):
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="Attempts made so far.")
    next_attempt_at: dt.datetime | None = strawberry.field(
        description="When it is tried next (while pending or in flight)."
    )
    last_attempt_at: dt.datetime | None = strawberry.field(description="When it was last tried.")
    last_status_code: int | None = strawberry.field(description="The HTTP status of the last attempt, if any.")
    last_error: str | None = strawberry.field(description="Why the last attempt got no response, if it did not.")
    delivered_at: dt.datetime | None = strawberry.field(description="When the receiver acknowledged it (2xx).")
    created_at: dt.datetime = strawberry.field(description="When it was queued.")
    endpoint: WebhookEndpoint = strawberry.field(description="Where it goes.")
    event: IntegrationEventRef = strawberry.field(description="What it carries.")
    attempt_log = connection_field("webhooks", "WebhookAttempt", "Its attempts, newest first.")


@strawberry.type(description="One POST of a delivery: when, what came back, and how long it took.")
class WebhookAttempt(Node):
    started_at: dt.datetime = strawberry.field(description="When the request started.")
    latency_ms: int = strawberry.field(description="Milliseconds until the response was read (or the attempt ended).")
    status_code: int | None = strawberry.field(description="The HTTP status; null when there was no response.")
    succeeded: bool = strawberry.field(description="Whether the status was 2xx.")
    error: str | None = strawberry.field(
        description="Why there was no response (timeout, connection refused, target refused)."
    )
    response_body: str | None = strawberry.field(description="The first 1 KB of the response body.")
    delivery: WebhookDelivery = strawberry.field(description="The delivery it belongs to.")
    endpoint: WebhookEndpoint = strawberry.field(description="Where it was sent.")


WebhookEndpointEdge, WebhookEndpointConnection = connection_types(WebhookEndpoint, "webhook endpoints")
WebhookDeliveryEdge, WebhookDeliveryConnection = connection_types(WebhookDelivery, "webhook deliveries")
WebhookAttemptEdge, WebhookAttemptConnection = connection_types(WebhookAttempt, "webhook attempts")
