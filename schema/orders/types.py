"""Order and order line types."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.workflows import ORDER
from schema.connections import connection_types
from schema.mutations import transitions_enum
from schema.node import Node
from schema.pagination import connection_field

if TYPE_CHECKING:  # the lazy references below, for the type checker
    from schema.customers.types import Customer
    from schema.employees.types import Employee
    from schema.invoices.types import Invoice
    from schema.products.types import Product

CustomerRef = Annotated["Customer", strawberry.lazy("schema.customers.types")]
EmployeeRef = Annotated["Employee", strawberry.lazy("schema.employees.types")]
InvoiceRef = Annotated["Invoice", strawberry.lazy("schema.invoices.types")]
ProductRef = Annotated["Product", strawberry.lazy("schema.products.types")]


@strawberry.enum(description="Where an order is in its lifecycle: DRAFT → PLACED → (APPROVED) → FULFILLED | CANCELLED.")
class OrderStatus(enum.Enum):
    DRAFT = "DRAFT"
    PLACED = "PLACED"
    APPROVED = "APPROVED"
    FULFILLED = "FULFILLED"
    CANCELLED = "CANCELLED"


# The actions of the workflow, as an enum strawberry builds at import: a variable, not a
# class, to the type checker (hence the ignore where it is used).
OrderTransition = transitions_enum(ORDER, "OrderTransition")


@strawberry.type(description="A customer's order: lines of products, with totals that always add up.")
class Order(Node):
    number: str = strawberry.field(description="The order number, unique in the organization.")
    status: OrderStatus = strawberry.field(description="Lifecycle status.")
    # Values are action names; their GraphQL enum is built from the lifecycle at
    # import, which the checker cannot read as a type.
    available_transitions: list[str] = strawberry.field(
        graphql_type=list[OrderTransition],  # type: ignore[valid-type]
        description="The lifecycle actions you may perform on this order now.",
    )
    placed_at: dt.datetime | None = strawberry.field(description="When the order was placed; null for drafts.")
    approved_at: dt.datetime | None = strawberry.field(description="When the order was approved.")
    fulfilled_at: dt.datetime | None = strawberry.field(description="When the order was fulfilled.")
    cancelled_at: dt.datetime | None = strawberry.field(description="When the order was cancelled.")
    subtotal: decimal.Decimal = strawberry.field(description="Sum of the line totals.")
    tax: decimal.Decimal = strawberry.field(description="Tax on the lines.")
    total: decimal.Decimal = strawberry.field(description="Subtotal plus tax.")
    note: str | None = strawberry.field(description="Free-text note.")
    customer: CustomerRef = strawberry.field(description="Who ordered.")
    sales_rep: EmployeeRef | None = strawberry.field(description="The employee who sold the order.")
    lines = connection_field("orders", "OrderLine", "The order's lines.")
    invoice: InvoiceRef | None = strawberry.field(description="The order's current (not void) invoice, if any.")
    invoices = connection_field("invoices", "Invoice", "Every invoice of the order, including void ones.")
    history = connection_field(
        "activity",
        "AuditEntry",
        "Every change made to the order, newest first (for the roles that read the audit log).",
    )
    version: int = strawberry.field(description="Incremented on every change; send it back when updating.")
    created_at: dt.datetime = strawberry.field(description="When the order was created.")
    updated_at: dt.datetime = strawberry.field(description="When the order last changed.")


@strawberry.type(description="One line of an order: a quantity of a product at a price.")
class OrderLine(Node):
    line_no: int = strawberry.field(description="Position in the order, from 1.")
    quantity: int = strawberry.field(description="Units ordered.")
    unit_price: decimal.Decimal = strawberry.field(description="Price of one unit when ordered.")
    discount: decimal.Decimal = strawberry.field(description="Discount on the line, as an amount.")
    tax_rate: decimal.Decimal = strawberry.field(description="Tax rate applied, as a fraction.")
    line_total: decimal.Decimal = strawberry.field(description="quantity × unit price − discount.")
    note: str | None = strawberry.field(description="Free-text note.")
    order: Order = strawberry.field(description="The order the line belongs to.")
    product: ProductRef = strawberry.field(description="The product ordered.")


OrderEdge, OrderConnection = connection_types(Order, "orders")
OrderLineEdge, OrderLineConnection = connection_types(OrderLine, "order lines")
