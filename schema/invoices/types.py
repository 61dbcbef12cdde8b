"""Invoice, invoice line and payment types."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.workflows import INVOICE
from schema.connections import connection_types
from schema.mutations import transitions_enum
from schema.node import Node
from schema.pagination import connection_field

if TYPE_CHECKING:  # the lazy references below, for the type checker
    from schema.customers.types import Customer
    from schema.orders.types import Order
    from schema.products.types import Product

CustomerRef = Annotated["Customer", strawberry.lazy("schema.customers.types")]
OrderRef = Annotated["Order", strawberry.lazy("schema.orders.types")]
ProductRef = Annotated["Product", strawberry.lazy("schema.products.types")]


@strawberry.enum(
    description="Where an invoice is in its lifecycle: DRAFT → ISSUED → PARTIALLY_PAID → PAID | OVERDUE | VOID."
)
class InvoiceStatus(enum.Enum):
    DRAFT = "DRAFT"
    ISSUED = "ISSUED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    VOID = "VOID"


@strawberry.enum(description="How a payment was made.")
class PaymentMethod(enum.Enum):
    BANK_TRANSFER = "BANK_TRANSFER"
    CARD = "CARD"
    CASH = "CASH"
    CHECK = "CHECK"


# The actions of the workflow, as an enum strawberry builds at import: a variable, not a
# class, to the type checker (hence the ignore where it is used).
InvoiceTransition = transitions_enum(INVOICE, "InvoiceTransition")


@strawberry.type(description="An invoice for an order; once issued its lines and totals never change.")
class Invoice(Node):
    number: str | None = strawberry.field(description="Gapless number per organization and year; null while draft.")
    status: InvoiceStatus = strawberry.field(description="Lifecycle status.")
    issued_at: dt.datetime | None = strawberry.field(description="When the invoice was issued.")
    due_at: dt.datetime | None = strawberry.field(description="When payment is due.")
    subtotal: decimal.Decimal = strawberry.field(description="Sum of the line totals.")
    tax: decimal.Decimal = strawberry.field(description="Tax on the lines.")
    total: decimal.Decimal = strawberry.field(description="Subtotal plus tax.")
    amount_paid: decimal.Decimal = strawberry.field(description="Sum of the payments recorded.")
    amount_due: decimal.Decimal = strawberry.field(description="Total minus amount paid.")
    # Values are action names; their GraphQL enum is built from the lifecycle at
    # import, which the checker cannot read as a type.
    available_transitions: list[str] = strawberry.field(
        graphql_type=list[InvoiceTransition],  # type: ignore[valid-type]
        description="The lifecycle actions you may perform on this invoice now.",
    )
    order: OrderRef = strawberry.field(description="The order invoiced.")
    customer: CustomerRef = strawberry.field(description="The customer billed.")
    lines = connection_field("invoices", "InvoiceLine", "The invoice's lines (a snapshot of the order).")
    payments = connection_field("invoices", "Payment", "Payments against this invoice.")
    history = connection_field(
        "activity",
        "AuditEntry",
        "Every change made to the invoice, newest first (for the roles that read the audit log).",
    )
    version: int = strawberry.field(description="Incremented on every change.")
    created_at: dt.datetime = strawberry.field(description="When the invoice was created.")
    updated_at: dt.datetime = strawberry.field(description="When the invoice last changed.")


@strawberry.type(description="One line of an invoice: what was sold, as it was when invoiced.")
class InvoiceLine(Node):
    line_no: int = strawberry.field(description="Position on the invoice, from 1.")
    sku: str = strawberry.field(description="The product's SKU when invoiced.")
    description: str = strawberry.field(description="The product's name when invoiced.")
    quantity: int = strawberry.field(description="Units invoiced.")
    unit_price: decimal.Decimal = strawberry.field(description="Price of one unit.")
    discount: decimal.Decimal = strawberry.field(description="Discount on the line, as an amount.")
    tax_rate: decimal.Decimal = strawberry.field(description="Tax rate applied, as a fraction.")
    line_total: decimal.Decimal = strawberry.field(description="quantity × unit price − discount.")
    invoice: Invoice = strawberry.field(description="The invoice the line belongs to.")
    product: ProductRef | None = strawberry.field(description="The product, if it still exists.")


@strawberry.type(description="Money received against an invoice.")
class Payment(Node):
    amount: decimal.Decimal = strawberry.field(description="Amount received.")
    method: PaymentMethod = strawberry.field(description="How it was paid.")
    paid_at: dt.datetime = strawberry.field(description="When it was paid.")
    reference: str | None = strawberry.field(description="Bank or card reference.")
    invoice: Invoice = strawberry.field(description="The invoice paid.")
    created_at: dt.datetime = strawberry.field(description="When the payment was recorded.")


InvoiceEdge, InvoiceConnection = connection_types(Invoice, "invoices")
InvoiceLineEdge, InvoiceLineConnection = connection_types(InvoiceLine, "invoice lines")
PaymentEdge, PaymentConnection = connection_types(Payment, "payments")
