"""Product filters and sorting."""

from __future__ import annotations

import decimal
import enum
from typing import List, Optional

import strawberry
from strawberry import UNSET

from schema.filters import BooleanFilter, DateTimeFilter, DecimalFilter, IDFilter, IntFilter, StringFilter
from schema.pagination import SortDirection


@strawberry.input(description="Conditions on products; all given fields must hold.")
class ProductFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The product's ID.")
    sku: Optional[StringFilter] = strawberry.field(default=UNSET, description="SKU.")
    name: Optional[StringFilter] = strawberry.field(default=UNSET, description="Name.")
    unit_price: Optional[DecimalFilter] = strawberry.field(default=UNSET, description="Unit price.")
    stock_on_hand: Optional[IntFilter] = strawberry.field(default=UNSET, description="Units on hand.")
    active: Optional[BooleanFilter] = strawberry.field(default=UNSET, description="Whether it can be ordered.")
    created_at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="Creation time.")
    and_: Optional[List["ProductFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["ProductFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["ProductFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields products can be sorted by.")
class ProductSortField(enum.Enum):
    ID = "ID"
    SKU = "SKU"
    NAME = "NAME"
    UNIT_PRICE = "UNIT_PRICE"
    STOCK_ON_HAND = "STOCK_ON_HAND"


@strawberry.input(description="One sort key for products; ties are broken by ID.")
class ProductSort:
    field: ProductSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")


@strawberry.input(description="A new product.")
class CreateProductInput:
    sku: str = strawberry.field(description="Stock keeping unit (up to 64 characters), unique in the organization.")
    name: str = strawberry.field(description="Display name (up to 200 characters).")
    unit_price: decimal.Decimal = strawberry.field(description="Price of one unit before tax (≥ 0, at most 2 decimals).")
    description: Optional[str] = strawberry.field(default=UNSET, description="Longer description (up to 2000 characters).")
    tax_rate: Optional[decimal.Decimal] = strawberry.field(
        default=UNSET, description="Tax rate as a fraction, 0 ≤ rate < 1, at most 4 decimals; 0 when left out."
    )
    stock_on_hand: Optional[int] = strawberry.field(default=UNSET, description="Units in the warehouse (≥ 0); 0 when left out.")
    active: Optional[bool] = strawberry.field(default=UNSET, description="Whether it can be ordered; true when left out.")


@strawberry.input(description="Changes to a product; fields left out stay as they are. Existing order lines keep their prices.")
class UpdateProductInput:
    id: strawberry.ID = strawberry.field(description="The product to change.")
    version: int = strawberry.field(description="The version you read; a stale one changes nothing (CONFLICT).")
    name: Optional[str] = strawberry.field(default=UNSET, description="Display name.")
    description: Optional[str] = strawberry.field(default=UNSET, description="Longer description; null clears it.")
    unit_price: Optional[decimal.Decimal] = strawberry.field(default=UNSET, description="Price of one unit before tax.")
    tax_rate: Optional[decimal.Decimal] = strawberry.field(default=UNSET, description="Tax rate as a fraction.")
    active: Optional[bool] = strawberry.field(default=UNSET, description="Whether new order lines may use the product.")


@strawberry.input(description="A correction of the stock on hand (a count, a delivery, a write-off).")
class AdjustStockInput:
    id: strawberry.ID = strawberry.field(description="The product.")
    delta: int = strawberry.field(
        description="Units to add (positive) or remove (negative); non-zero, at most 1,000,000 either way."
    )
    reason: str = strawberry.field(description="Why the stock changes (up to 200 characters), kept in the audit log.")
    version: Optional[int] = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
