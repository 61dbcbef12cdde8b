"""Product mutations."""

from __future__ import annotations

import strawberry

from resolvers.products import commands
from resolvers.products.inputs import AdjustStock, CreateProduct, UpdateProduct
from schema.mutations import GlobalIds, UserError, given_or_none, maybe, run_command
from schema.planned import PlannedObject
from schema.products.inputs import AdjustStockInput, CreateProductInput, UpdateProductInput
from schema.products.types import Product


@strawberry.type(description="The result of a product mutation.")
class ProductPayload:
    product: Product | None = strawberry.field(description="The product as the mutation left it; null on errors.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class ProductMutations:
    @strawberry.mutation(
        description="Add a product to the catalog. Roles: admin, finance.", graphql_type=ProductPayload
    )
    async def create_product(self, info: strawberry.Info, input: CreateProductInput) -> PlannedObject:
        return await run_command(info, "product", lambda s: commands.create_product(s, _create_product(input)))

    @strawberry.mutation(
        description="Change a product's details or price (existing order lines keep theirs). Roles: admin, finance.",
        graphql_type=ProductPayload,
    )
    async def update_product(self, info: strawberry.Info, input: UpdateProductInput) -> PlannedObject:
        return await run_command(info, "product", lambda s: commands.update_product(s, _update_product(input)))

    @strawberry.mutation(
        description="Add or remove stock on hand; stock reserved by placed orders cannot be removed."
        " Roles: admin, finance.",
        graphql_type=ProductPayload,
    )
    async def adjust_stock(self, info: strawberry.Info, input: AdjustStockInput) -> PlannedObject:
        return await run_command(info, "product", lambda s: commands.adjust_stock(s, _adjust_stock(input)))


def _create_product(input: CreateProductInput) -> CreateProduct:
    return CreateProduct(
        sku=input.sku,
        name=input.name,
        unit_price=input.unit_price,
        description=given_or_none(input.description),
        tax_rate=maybe(input.tax_rate),
        stock_on_hand=given_or_none(input.stock_on_hand),
        active=maybe(input.active),
    )


def _update_product(input: UpdateProductInput) -> UpdateProduct:
    ids = GlobalIds()
    pk = ids.key("id", input.id, "Product")
    ids.done()
    return UpdateProduct(
        id=pk,
        version=input.version,
        name=maybe(input.name),
        description=maybe(input.description),
        unit_price=maybe(input.unit_price),
        tax_rate=maybe(input.tax_rate),
        active=maybe(input.active),
    )


def _adjust_stock(input: AdjustStockInput) -> AdjustStock:
    ids = GlobalIds()
    pk = ids.key("id", input.id, "Product")
    ids.done()
    return AdjustStock(id=pk, delta=input.delta, reason=input.reason, version=given_or_none(input.version))
