"""Order and order line filters and sorting."""

from __future__ import annotations

import enum
from typing import Annotated, List, Optional

import strawberry
from strawberry import UNSET

from schema.filters import DateTimeFilter, DecimalFilter, IDFilter, IntFilter, StringFilter, enum_filter
from schema.orders.types import OrderStatus
from schema.pagination import SortDirection

CustomerFilterRef = Annotated["CustomerFilter", strawberry.lazy("schema.customers.inputs")]
ProductFilterRef = Annotated["ProductFilter", strawberry.lazy("schema.products.inputs")]
OrderStatusFilter = enum_filter(OrderStatus)


@strawberry.input(description="Conditions on orders; all given fields must hold.")
class OrderFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The order's ID.")
    number: Optional[StringFilter] = strawberry.field(default=UNSET, description="Order number.")
    status: Optional[OrderStatusFilter] = strawberry.field(default=UNSET, description="Status.")
    placed_at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="When placed.")
    created_at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="When created.")
    subtotal: Optional[DecimalFilter] = strawberry.field(default=UNSET, description="Subtotal.")
    total: Optional[DecimalFilter] = strawberry.field(default=UNSET, description="Total.")
    customer_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The customer's ID.")
    sales_rep_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The sales rep's ID.")
    customer: Optional[CustomerFilterRef] = strawberry.field(default=UNSET, description="Conditions on the customer.")
    and_: Optional[List["OrderFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["OrderFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["OrderFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields orders can be sorted by.")
class OrderSortField(enum.Enum):
    ID = "ID"
    NUMBER = "NUMBER"
    PLACED_AT = "PLACED_AT"
    CREATED_AT = "CREATED_AT"
    TOTAL = "TOTAL"


@strawberry.input(description="One sort key for orders; ties are broken by ID. Drafts (no placedAt) sort last ascending.")
class OrderSort:
    field: OrderSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")


@strawberry.input(description="Conditions on order lines; all given fields must hold.")
class OrderLineFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The line's ID.")
    quantity: Optional[IntFilter] = strawberry.field(default=UNSET, description="Quantity.")
    line_total: Optional[DecimalFilter] = strawberry.field(default=UNSET, description="Line total.")
    order_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The order's ID.")
    product_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The product's ID.")
    order: Optional[OrderFilter] = strawberry.field(default=UNSET, description="Conditions on the order.")
    product: Optional[ProductFilterRef] = strawberry.field(default=UNSET, description="Conditions on the product.")
    and_: Optional[List["OrderLineFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["OrderLineFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["OrderLineFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields order lines can be sorted by.")
class OrderLineSortField(enum.Enum):
    ID = "ID"
    LINE_NO = "LINE_NO"


@strawberry.input(description="One sort key for order lines; ties are broken by ID.")
class OrderLineSort:
    field: OrderLineSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")
