"""Order and order line filters and sorting."""

from __future__ import annotations

import decimal
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


@strawberry.input(description="A line of a new order: a quantity of a product, priced from the catalog when written.")
class OrderLineInput:
    product_id: strawberry.ID = strawberry.field(description="The product (active, of your organization).")
    quantity: int = strawberry.field(description="Units ordered (1 to 1,000,000).")
    discount: Optional[decimal.Decimal] = strawberry.field(
        default=UNSET, description="Discount on the line as an amount (≥ 0, at most quantity × unit price); 0 when left out."
    )


@strawberry.input(description="A new draft order. Sales reps create orders for their own accounts only.")
class CreateOrderInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer ordering (not inactive).")
    sales_rep_id: Optional[strawberry.ID] = strawberry.field(
        default=UNSET, description="The employee who sells the order; for a sales rep, the rep when left out."
    )
    note: Optional[str] = strawberry.field(default=UNSET, description="Free-text note (up to 2000 characters).")
    lines: Optional[List[OrderLineInput]] = strawberry.field(
        default=UNSET, description="The lines (at most 500); the draft may start empty."
    )


@strawberry.input(description="A new line on a draft order.")
class AddOrderLineInput:
    order_id: strawberry.ID = strawberry.field(description="The draft order.")
    product_id: strawberry.ID = strawberry.field(description="The product (active, of your organization).")
    quantity: int = strawberry.field(description="Units ordered (1 to 1,000,000).")
    discount: Optional[decimal.Decimal] = strawberry.field(default=UNSET, description="Discount as an amount; 0 when left out.")
    version: Optional[int] = strawberry.field(
        default=UNSET, description="The order's version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="Changes to a line of a draft order; its unit price stays the one it was added with.")
class UpdateOrderLineInput:
    line_id: strawberry.ID = strawberry.field(description="The line.")
    quantity: Optional[int] = strawberry.field(default=UNSET, description="Units ordered (1 to 1,000,000).")
    discount: Optional[decimal.Decimal] = strawberry.field(default=UNSET, description="Discount as an amount; null means none.")
    version: Optional[int] = strawberry.field(
        default=UNSET, description="The order's version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="A line to remove from a draft order.")
class RemoveOrderLineInput:
    line_id: strawberry.ID = strawberry.field(description="The line.")
    version: Optional[int] = strawberry.field(
        default=UNSET, description="The order's version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="Place a draft order: reserve its stock and check the customer's credit.")
class PlaceOrderInput:
    id: strawberry.ID = strawberry.field(description="The draft order.")
    version: Optional[int] = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    idempotency_key: Optional[str] = strawberry.field(
        default=UNSET,
        description="A key of your choice (up to 100 characters): repeating the request with it returns the order"
        " placed the first time without placing it again; the same key with another input is refused.",
    )


@strawberry.input(description="A lifecycle action on an order.")
class OrderTransitionInput:
    id: strawberry.ID = strawberry.field(description="The order.")
    version: Optional[int] = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="Cancel an order (draft, placed or approved, not invoiced).")
class CancelOrderInput:
    id: strawberry.ID = strawberry.field(description="The order.")
    version: Optional[int] = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    reason: Optional[str] = strawberry.field(default=UNSET, description="Why (up to 500 characters), kept in the audit log.")
