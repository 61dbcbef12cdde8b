"""Order root fields."""

from __future__ import annotations

import strawberry

from schema.context import reads
from schema.orders.types import Order
from schema.pagination import root_connection_field
from schema.planned import PlannedObject
from schema.selection import root_selection


@strawberry.type
class OrderQueries:
    @strawberry.field(
        description="An order by ID; null (with a NOT_FOUND error) when it does not exist.",
        graphql_type=Order | None,
    )
    async def order(self, info: strawberry.Info, id: strawberry.ID) -> PlannedObject:
        return await reads(info).one("Order", id, root_selection(info))

    orders = root_connection_field("orders", "Order", "The organization's orders.")
