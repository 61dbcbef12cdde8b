"""Product root fields."""

from __future__ import annotations

import strawberry

from schema.context import reads
from schema.pagination import root_connection_field
from schema.planned import PlannedObject
from schema.products.types import Product
from schema.selection import root_selection


@strawberry.type
class ProductQueries:
    @strawberry.field(
        description="A product by ID; null (with a NOT_FOUND error) when it does not exist.",
        graphql_type=Product | None,
    )
    async def product(self, info: strawberry.Info, id: strawberry.ID) -> PlannedObject:
        return await reads(info).one("Product", id, root_selection(info))

    products = root_connection_field("products", "Product", "The organization's products.")
