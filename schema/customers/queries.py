"""Customer root fields."""

from __future__ import annotations

import strawberry

from schema.context import reads
from schema.customers.types import Customer
from schema.pagination import root_connection_field
from schema.planned import PlannedObject
from schema.selection import root_selection


@strawberry.type
class CustomerQueries:
    @strawberry.field(
        description="A customer by ID; null (with a NOT_FOUND error) when it does not exist.",
        graphql_type=Customer | None,
    )
    async def customer(self, info: strawberry.Info, id: strawberry.ID) -> PlannedObject:
        return await reads(info).one("Customer", id, root_selection(info))

    customers = root_connection_field("customers", "Customer", "Customers of the organization.")
