"""The audit trail and the integration events."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON

from schema.connections import connection_types
from schema.node import Node


@strawberry.type(
    description="One change: who did what to which entity, with the before and after of each changed field."
)
class AuditEntry(Node):
    action: str = strawberry.field(description="What was done, e.g. `order.placed` or `customer.updated`.")
    actor: str = strawberry.field(description="Who did it: the user's email or the service client's id.")
    entity_type: str = strawberry.field(description="The type of the entity changed, e.g. `Order`.")
    entity_id: strawberry.ID = strawberry.field(description="The global ID of the entity changed.")
    changes: JSON = strawberry.field(
        description="`{ field: { before, after } }` for every field the action changed (amounts as strings)."
    )
    request_id: str | None = strawberry.field(description="The request that made the change (X-Request-Id).")
    at: dt.datetime = strawberry.field(description="When the change was made (the start of its transaction).")


@strawberry.type(
    description="A business event for integrations (order placed, invoice paid, employee hired …), written in "
    "the same transaction as the change it announces."
)
class IntegrationEvent(Node):
    type: str = strawberry.field(description="What happened, e.g. `order.placed`, `invoice.paid`, `employee.hired`.")
    entity_type: str = strawberry.field(description="The type of the entity it is about, e.g. `Invoice`.")
    entity_id: strawberry.ID = strawberry.field(description="The global ID of the entity it is about.")
    payload: JSON = strawberry.field(
        description="A few facts about the change (numbers, statuses, amounts); never personal data."
    )
    occurred_at: dt.datetime = strawberry.field(description="When it happened.")


AuditEntryEdge, AuditEntryConnection = connection_types(AuditEntry, "audit entries")
IntegrationEventEdge, IntegrationEventConnection = connection_types(IntegrationEvent, "events")
