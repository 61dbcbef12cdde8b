"""Order and order line filters and sorting, derived from their catalog entries; the inputs of the order mutations."""

from __future__ import annotations

import decimal

import strawberry
from strawberry import UNSET

from resolvers.orders.catalog import ORDER, ORDER_LINE
from schema.derived_inputs import filter_input, sort_inputs
from schema.orders.types import Order, OrderLine


@filter_input(ORDER, Order)
class OrderFilter:
    """Its fields are the filters of ``ORDER`` in resolvers/orders/catalog.py."""


OrderSortField, OrderSort = sort_inputs(ORDER)


@filter_input(ORDER_LINE, OrderLine)
class OrderLineFilter:
    """Its fields are the filters of ``ORDER_LINE`` in resolvers/orders/catalog.py."""


OrderLineSortField, OrderLineSort = sort_inputs(ORDER_LINE)


@strawberry.input(description="A line of a new order: a quantity of a product, priced from the catalog when written.")
class OrderLineInput:
    product_id: strawberry.ID = strawberry.field(description="The product (active, of your organization).")
    quantity: int = strawberry.field(description="Units ordered (1 to 1,000,000).")
    discount: decimal.Decimal | None = strawberry.field(
        default=UNSET,
        description="Discount on the line as an amount (≥ 0, at most quantity × unit price); 0 when left out.",
    )


@strawberry.input(description="A new draft order. Sales reps create orders for their own accounts only.")
class CreateOrderInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer ordering (not inactive).")
    sales_rep_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The employee who sells the order; for a sales rep, the rep when left out."
    )
    note: str | None = strawberry.field(default=UNSET, description="Free-text note (up to 2000 characters).")
    lines: list[OrderLineInput] | None = strawberry.field(
        default=UNSET, description="The lines (at most 500); the draft may start empty."
    )


@strawberry.input(description="A new line on a draft order.")
class AddOrderLineInput:
    order_id: strawberry.ID = strawberry.field(description="The draft order.")
    product_id: strawberry.ID = strawberry.field(description="The product (active, of your organization).")
    quantity: int = strawberry.field(description="Units ordered (1 to 1,000,000).")
    discount: decimal.Decimal | None = strawberry.field(
        default=UNSET, description="Discount as an amount; 0 when left out."
    )
    version: int | None = strawberry.field(
        default=UNSET, description="The order's version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="Changes to a line of a draft order; its unit price stays the one it was added with.")
class UpdateOrderLineInput:
    line_id: strawberry.ID = strawberry.field(description="The line.")
    quantity: int | None = strawberry.field(default=UNSET, description="Units ordered (1 to 1,000,000).")
    discount: decimal.Decimal | None = strawberry.field(
        default=UNSET, description="Discount as an amount; null means none."
    )
    version: int | None = strawberry.field(
        default=UNSET, description="The order's version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="A line to remove from a draft order.")
class RemoveOrderLineInput:
    line_id: strawberry.ID = strawberry.field(description="The line.")
    version: int | None = strawberry.field(
        default=UNSET, description="The order's version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="Place a draft order: reserve its stock and check the customer's credit.")
class PlaceOrderInput:
    id: strawberry.ID = strawberry.field(description="The draft order.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    idempotency_key: str | None = strawberry.field(
        default=UNSET,
        description="A key of your choice (up to 100 characters): repeating the request with it returns the order"
        " placed the first time without placing it again; the same key with another input is refused.",
    )


@strawberry.input(description="A lifecycle action on an order.")
class OrderTransitionInput:
    id: strawberry.ID = strawberry.field(description="The order.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="Cancel an order (draft, placed or approved, not invoiced).")
class CancelOrderInput:
    id: strawberry.ID = strawberry.field(description="The order.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    reason: str | None = strawberry.field(
        default=UNSET, description="Why (up to 500 characters), kept in the audit log."
    )
