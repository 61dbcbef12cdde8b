"""Product filters and sorting."""

from __future__ import annotations

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
