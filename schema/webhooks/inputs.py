"""Webhook filters and sorting, derived from the catalog entries; the inputs of the webhook mutations."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry import UNSET

from resolvers.webhooks.catalog import WEBHOOK_ATTEMPT, WEBHOOK_DELIVERY, WEBHOOK_ENDPOINT
from schema.derived_inputs import filter_input, sort_inputs
from schema.webhooks.types import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@filter_input(WEBHOOK_ENDPOINT, WebhookEndpoint)
class WebhookEndpointFilter:
    """Its fields are the filters of ``WEBHOOK_ENDPOINT`` in resolvers/webhooks/catalog.py."""


WebhookEndpointSortField, WebhookEndpointSort = sort_inputs(WEBHOOK_ENDPOINT)


@filter_input(WEBHOOK_DELIVERY, WebhookDelivery)
class WebhookDeliveryFilter:
    """Its fields are the filters of ``WEBHOOK_DELIVERY`` in resolvers/webhooks/catalog.py."""


WebhookDeliverySortField, WebhookDeliverySort = sort_inputs(WEBHOOK_DELIVERY)


@filter_input(WEBHOOK_ATTEMPT, WebhookAttempt)
class WebhookAttemptFilter:
    """Its fields are the filters of ``WEBHOOK_ATTEMPT`` in resolvers/webhooks/catalog.py."""


WebhookAttemptSortField, WebhookAttemptSort = sort_inputs(WEBHOOK_ATTEMPT)


@strawberry.input(description="A new webhook endpoint.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="Where to POST (https outside development; it must resolve to a public address)."
    )
    event_types: list[str] = strawberry.field(description="The event types to receive (README: the event catalog).")
    description: str | None = strawberry.field(default=UNSET, description="What it is for (up to 500 characters).")
    timeout_seconds: int | None = strawberry.field(
        default=UNSET, description="How long one attempt may take, 1 to 60 seconds (default 10)."
    )
    max_concurrency: int | None = strawberry.field(
        default=UNSET, description="Deliveries in flight to it at once, 1 to 100 (default 4)."
    )


@strawberry.input(description="Changes to a webhook endpoint; fields left out stay as they are.")
class UpdateWebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description="The endpoint.")
    version: int | None = strawberry.field(default=UNSET, description="The version you read (refused if it changed).")
    url: str | None = strawberry.field(default=UNSET, description="A new URL.")
    event_types: list[str] | None = strawberry.field(default=UNSET, description="The new list of event types.")
    description: str | None = strawberry.field(default=UNSET, description="A new description (null clears it).")
    timeout_seconds: int | None = strawberry.field(default=UNSET, description="1 to 60 seconds.")
    max_concurrency: int | None = strawberry.field(default=UNSET, description="1 to 100.")


@strawberry.input(description="An action on a webhook endpoint.")
class WebhookEndpointActionInput:
    id: strawberry.ID = strawberry.field(description="The endpoint.")
    version: int | None = strawberry.field(default=UNSET, description="The version you read (refused if it changed).")


@strawberry.input(description="A new signing secret for an endpoint.")
class RotateWebhookSecretInput:
    id: strawberry.ID = strawberry.field(description="The endpoint.")
    overlap_seconds: int | None = strawberry.field(
        default=UNSET,
        description="How long the previous secret keeps signing beside the new one, 0 to 2,592,000 seconds"
        " (default: BIZGRAPH_WEBHOOK_ROTATION_OVERLAP_SECONDS, 24 hours).",
    )


@strawberry.input(description="One event to send to one endpoint again.")
class RedeliverWebhookInput:
    event_id: strawberry.ID = strawberry.field(description="The integration event (from `events`).")
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")


@strawberry.input(description="Every event an endpoint wants, committed since a moment, to send again.")
class ReplayWebhookEventsInput:
    endpoint_id: strawberry.ID = strawberry.field(description="The endpoint.")
    since: dt.datetime = strawberry.field(description="Events that occurred at or after this moment.")
