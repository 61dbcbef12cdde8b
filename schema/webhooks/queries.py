"""Webhook root fields (admins only: the policy table)."""

from __future__ import annotations

import strawberry

from schema.context import reads
from schema.pagination import root_connection_field
from schema.planned import PlannedObject
from schema.selection import root_selection
from schema.webhooks.types import WebhookEndpoint


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="A webhook endpoint by ID; null (with a NOT_FOUND error) when it does not exist for you.",
        graphql_type=WebhookEndpoint | None,
    )
    async def webhook_endpoint(self, info: strawberry.Info, id: strawberry.ID) -> PlannedObject:
        return await reads(info).one("WebhookEndpoint", id, root_selection(info))

    webhook_endpoints = root_connection_field(
        "webhooks", "WebhookEndpoint", "Where the organization's events are POSTed, with each one's delivery figures."
    )
    webhook_deliveries = root_connection_field(
        "webhooks", "WebhookDelivery", "Every endpoint's deliveries, newest first (filter by status or endpoint)."
    )
    webhook_attempts = root_connection_field(
        "webhooks", "WebhookAttempt", "Every attempt to every endpoint, newest first: the delivery log."
    )
