"""Audit and event filters and sorting."""

from __future__ import annotations

import enum
from typing import List, Optional

import strawberry
from strawberry import UNSET

from schema.filters import DateTimeFilter, StringFilter
from schema.pagination import SortDirection


@strawberry.input(description="Conditions on audit entries; all given fields must hold.")
class AuditEntryFilter:
    action: Optional[StringFilter] = strawberry.field(default=UNSET, description="The action, e.g. `order.placed`.")
    actor: Optional[StringFilter] = strawberry.field(default=UNSET, description="Who acted.")
    entity_type: Optional[StringFilter] = strawberry.field(default=UNSET, description="The entity's type, e.g. `Order`.")
    at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="When.")
    and_: Optional[List["AuditEntryFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["AuditEntryFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["AuditEntryFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields audit entries can be sorted by.")
class AuditEntrySortField(enum.Enum):
    ID = "ID"
    AT = "AT"


@strawberry.input(description="One sort key for audit entries; ties are broken by ID.")
class AuditEntrySort:
    field: AuditEntrySortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.DESC, description="Ascending or descending.")


@strawberry.input(description="Conditions on integration events; all given fields must hold.")
class IntegrationEventFilter:
    type: Optional[StringFilter] = strawberry.field(default=UNSET, description="The event type, e.g. `invoice.paid`.")
    entity_type: Optional[StringFilter] = strawberry.field(default=UNSET, description="The entity's type.")
    occurred_at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="When it happened.")
    and_: Optional[List["IntegrationEventFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["IntegrationEventFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["IntegrationEventFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="The order events are read in.")
class IntegrationEventSortField(enum.Enum):
    POSITION = "POSITION"


@strawberry.input(description="The order of events; there is one: the order their transactions committed in.")
class IntegrationEventSort:
    field: IntegrationEventSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")
