"""Product mutations."""

from __future__ import annotations

from typing import List, Optional

import strawberry

from resolvers.products import commands
from schema.mutations import UserError, provided, run_command
from schema.products.inputs import AdjustStockInput, CreateProductInput, UpdateProductInput
from schema.products.types import Product


@strawberry.type(description="The result of a product mutation.")
class ProductPayload:
    product: Optional[Product] = strawberry.field(description="The product as the mutation left it; null on errors.")
    errors: List[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class ProductMutations:
    @strawberry.mutation(description="Add a product to the catalog. Roles: admin, finance.")
    async def create_product(self, info: strawberry.Info, input: CreateProductInput) -> ProductPayload:
        return await run_command(info, "product", lambda s: commands.create(s, provided(input)))

    @strawberry.mutation(description="Change a product's details or price (existing order lines keep theirs). Roles: admin, finance.")
    async def update_product(self, info: strawberry.Info, input: UpdateProductInput) -> ProductPayload:
        return await run_command(info, "product", lambda s: commands.update(s, provided(input)))

    @strawberry.mutation(
        description="Add or remove stock on hand; stock reserved by placed orders cannot be removed. Roles: admin, finance."
    )
    async def adjust_stock(self, info: strawberry.Info, input: AdjustStockInput) -> ProductPayload:
        return await run_command(info, "product", lambda s: commands.adjust_stock(s, provided(input)))
