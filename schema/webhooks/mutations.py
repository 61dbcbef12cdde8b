"""Webhook mutations (admins only). The signing secret appears in a payload twice in
an endpoint's life at most: when it is created and when its secret is rotated."""

from __future__ import annotations

from typing import Any

import strawberry

from app.delivery.settings import WebhookSettings
from resolvers.webhooks import commands
from resolvers.webhooks.inputs import (
    CreateEndpoint,
    EndpointAction,
    Redeliver,
    Replay,
    RotateSecret,
    UpdateEndpoint,
    WebhookConfig,
)
from schema.mutations import GlobalIds, UserError, given_or_none, maybe, run_command
from schema.planned import PlannedObject
from schema.webhooks.inputs import (
    CreateWebhookEndpointInput,
    RedeliverWebhookInput,
    ReplayWebhookEventsInput,
    RotateWebhookSecretInput,
    UpdateWebhookEndpointInput,
    WebhookEndpointActionInput,
)
from schema.webhooks.types import WebhookDelivery, WebhookEndpoint

ENTITY = "webhookEndpoint"


@strawberry.type(description="The result of a webhook endpoint mutation.")
class WebhookEndpointPayload:
    webhook_endpoint: WebhookEndpoint | None = strawberry.field(
        description="The endpoint as the mutation left it; null on errors."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type(description="The result of creating an endpoint or rotating its secret: the secret, this once.")
class WebhookSecretPayload:
    webhook_endpoint: WebhookEndpoint | None = strawberry.field(
        description="The endpoint as the mutation left it; null on errors."
    )
    secret: str | None = strawberry.field(
        description="The signing secret (`whsec_…`, Standard Webhooks). Shown only now: store it with the receiver."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type(description="The result of deleting a webhook endpoint.")
class DeleteWebhookEndpointPayload:
    deleted_id: strawberry.ID | None = strawberry.field(description="The ID of the endpoint deleted; null on errors.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type(description="The result of a redelivery.")
class RedeliverWebhookPayload:
    webhook_delivery: WebhookDelivery | None = strawberry.field(description="The delivery, queued again.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type(description="The result of a replay.")
class ReplayWebhookEventsPayload:
    webhook_endpoint: WebhookEndpoint | None = strawberry.field(description="The endpoint.")
    queued: int | None = strawberry.field(description="How many deliveries were queued (again).")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


def _key(name: str, value: Any, type_name: str = "WebhookEndpoint") -> int:
    ids = GlobalIds()
    pk = ids.key(name, value, type_name)
    ids.done()
    return pk


def _action(input: WebhookEndpointActionInput) -> EndpointAction:
    return EndpointAction(id=_key("id", input.id), version=given_or_none(input.version))


# Inputs become commands inside the command's run, where a bad ID is a payload error.
def _update(input: UpdateWebhookEndpointInput) -> UpdateEndpoint:
    event_types = maybe(input.event_types)
    return UpdateEndpoint(
        id=_key("id", input.id),
        version=given_or_none(input.version),
        url=maybe(input.url),
        event_types=list(event_types) if isinstance(event_types, list) else event_types,
        description=maybe(input.description),
        timeout_seconds=maybe(input.timeout_seconds),
        max_concurrency=maybe(input.max_concurrency),
    )


def _rotate(input: RotateWebhookSecretInput) -> RotateSecret:
    return RotateSecret(id=_key("id", input.id), overlap_seconds=given_or_none(input.overlap_seconds))


def _redeliver(input: RedeliverWebhookInput) -> Redeliver:
    ids = GlobalIds()
    command = Redeliver(
        event_id=ids.key("event_id", input.event_id, "IntegrationEvent"),
        endpoint_id=ids.key("endpoint_id", input.endpoint_id, "WebhookEndpoint"),
    )
    ids.done()
    return command


def _replay(input: ReplayWebhookEventsInput) -> Replay:
    return Replay(endpoint_id=_key("endpoint_id", input.endpoint_id), since=input.since)


def webhook_mutations(settings: WebhookSettings) -> type:
    """The mutations, bound to the server's webhook settings (the key that seals secrets,
    which targets are acceptable)."""
    config = WebhookConfig(settings)

    @strawberry.type
    class WebhookMutations:
        @strawberry.mutation(
            description="Register a webhook endpoint; the payload shows its signing secret, this once. Roles: admin.",
            graphql_type=WebhookSecretPayload,
        )
        async def create_webhook_endpoint(
            self, info: strawberry.Info, input: CreateWebhookEndpointInput
        ) -> PlannedObject:
            command = CreateEndpoint(
                url=input.url,
                event_types=list(input.event_types),
                description=given_or_none(input.description),
                timeout_seconds=given_or_none(input.timeout_seconds),
                max_concurrency=given_or_none(input.max_concurrency),
            )
            return await run_command(info, ENTITY, lambda s: commands.create_endpoint(s, command, config))

        @strawberry.mutation(
            description="Change an endpoint's URL, event types, description or limits. Roles: admin.",
            graphql_type=WebhookEndpointPayload,
        )
        async def update_webhook_endpoint(
            self, info: strawberry.Info, input: UpdateWebhookEndpointInput
        ) -> PlannedObject:
            return await run_command(info, ENTITY, lambda s: commands.update_endpoint(s, _update(input), config))

        @strawberry.mutation(
            description="Start sending events to an endpoint again (its queued deliveries resume). Roles: admin.",
            graphql_type=WebhookEndpointPayload,
        )
        async def enable_webhook_endpoint(
            self, info: strawberry.Info, input: WebhookEndpointActionInput
        ) -> PlannedObject:
            return await run_command(info, ENTITY, lambda s: commands.set_enabled(s, _action(input), True))

        @strawberry.mutation(
            description="Stop sending events to an endpoint; its queued deliveries wait. Roles: admin.",
            graphql_type=WebhookEndpointPayload,
        )
        async def disable_webhook_endpoint(
            self, info: strawberry.Info, input: WebhookEndpointActionInput
        ) -> PlannedObject:
            return await run_command(info, ENTITY, lambda s: commands.set_enabled(s, _action(input), False))

        @strawberry.mutation(
            description="Delete an endpoint with its deliveries and attempts. Roles: admin.",
            graphql_type=DeleteWebhookEndpointPayload,
        )
        async def delete_webhook_endpoint(
            self, info: strawberry.Info, input: WebhookEndpointActionInput
        ) -> PlannedObject:
            return await run_command(info, "none", lambda s: commands.delete_endpoint(s, _action(input)))

        @strawberry.mutation(
            description="Give an endpoint a new signing secret, shown this once; the previous one keeps signing"
            " beside it for the overlap. Roles: admin.",
            graphql_type=WebhookSecretPayload,
        )
        async def rotate_webhook_endpoint_secret(
            self, info: strawberry.Info, input: RotateWebhookSecretInput
        ) -> PlannedObject:
            return await run_command(info, ENTITY, lambda s: commands.rotate_secret(s, _rotate(input), config))

        @strawberry.mutation(
            description="Send the endpoint a `webhook_endpoint.ping` event (to it only); its attempts show how it"
            " went. Roles: admin.",
            graphql_type=WebhookEndpointPayload,
        )
        async def ping_webhook_endpoint(
            self, info: strawberry.Info, input: WebhookEndpointActionInput
        ) -> PlannedObject:
            return await run_command(info, ENTITY, lambda s: commands.ping(s, _action(input)))

        @strawberry.mutation(
            description="Send one event to one endpoint again, from a fresh retry schedule. Roles: admin.",
            graphql_type=RedeliverWebhookPayload,
        )
        async def redeliver_webhook(self, info: strawberry.Info, input: RedeliverWebhookInput) -> PlannedObject:
            return await run_command(info, "webhookDelivery", lambda s: commands.redeliver(s, _redeliver(input)))

        @strawberry.mutation(
            description="Send an endpoint every event of its types that occurred since a moment, again. Roles: admin.",
            graphql_type=ReplayWebhookEventsPayload,
        )
        async def replay_webhook_events(self, info: strawberry.Info, input: ReplayWebhookEventsInput) -> PlannedObject:
            return await run_command(info, ENTITY, lambda s: commands.replay(s, _replay(input)))

    return WebhookMutations
