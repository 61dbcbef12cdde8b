"""Product filters and sorting, derived from the catalog entry; the inputs of the product mutations."""

from __future__ import annotations

import decimal

import strawberry
from strawberry import UNSET

from resolvers.products.catalog import PRODUCT
from schema.derived_inputs import filter_input, sort_inputs
from schema.products.types import Product


@filter_input(PRODUCT, Product)
class ProductFilter:
    """Its fields are the filters of ``PRODUCT`` in resolvers/products/catalog.py."""


ProductSortField, ProductSort = sort_inputs(PRODUCT)


@strawberry.input(description="A new product.")
class CreateProductInput:
    sku: str = strawberry.field(description="Stock keeping unit (up to 64 characters), unique in the organization.")
    name: str = strawberry.field(description="Display name (up to 200 characters).")
    unit_price: decimal.Decimal = strawberry.field(
        description="Price of one unit before tax (≥ 0, at most 2 decimals)."
    )
    description: str | None = strawberry.field(default=UNSET, description="Longer description (up to 2000 characters).")
    tax_rate: decimal.Decimal | None = strawberry.field(
        default=UNSET, description="Tax rate as a fraction, 0 ≤ rate < 1, at most 4 decimals; 0 when left out."
    )
    stock_on_hand: int | None = strawberry.field(
        default=UNSET, description="Units in the warehouse (≥ 0); 0 when left out."
    )
    active: bool | None = strawberry.field(default=UNSET, description="Whether it can be ordered; true when left out.")


@strawberry.input(
    description="Changes to a product; fields left out stay as they are. Existing order lines keep their prices."
)
class UpdateProductInput:
    id: strawberry.ID = strawberry.field(description="The product to change.")
    version: int = strawberry.field(description="The version you read; a stale one changes nothing (CONFLICT).")
    name: str | None = strawberry.field(default=UNSET, description="Display name.")
    description: str | None = strawberry.field(default=UNSET, description="Longer description; null clears it.")
    unit_price: decimal.Decimal | None = strawberry.field(default=UNSET, description="Price of one unit before tax.")
    tax_rate: decimal.Decimal | None = strawberry.field(default=UNSET, description="Tax rate as a fraction.")
    active: bool | None = strawberry.field(default=UNSET, description="Whether new order lines may use the product.")


@strawberry.input(description="A correction of the stock on hand (a count, a delivery, a write-off).")
class AdjustStockInput:
    id: strawberry.ID = strawberry.field(description="The product.")
    delta: int = strawberry.field(
        description="Units to add (positive) or remove (negative); non-zero, at most 1,000,000 either way."
    )
    reason: str = strawberry.field(description="Why the stock changes (up to 200 characters), kept in the audit log.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
