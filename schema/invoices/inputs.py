"""Invoice, invoice line and payment filters and sorting."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Annotated, List, Optional

import strawberry
from strawberry import UNSET

from schema.filters import DateTimeFilter, DecimalFilter, IDFilter, StringFilter, enum_filter
from schema.invoices.types import InvoiceStatus, PaymentMethod
from schema.pagination import SortDirection

CustomerFilterRef = Annotated["CustomerFilter", strawberry.lazy("schema.customers.inputs")]
InvoiceStatusFilter = enum_filter(InvoiceStatus)
PaymentMethodFilter = enum_filter(PaymentMethod)


@strawberry.input(description="Conditions on invoices; all given fields must hold.")
class InvoiceFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The invoice's ID.")
    number: Optional[StringFilter] = strawberry.field(default=UNSET, description="Invoice number.")
    status: Optional[InvoiceStatusFilter] = strawberry.field(default=UNSET, description="Status.")
    issued_at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="When issued.")
    due_at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="When due.")
    total: Optional[DecimalFilter] = strawberry.field(default=UNSET, description="Total.")
    amount_paid: Optional[DecimalFilter] = strawberry.field(default=UNSET, description="Amount paid.")
    customer_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The customer's ID.")
    order_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The order's ID.")
    customer: Optional[CustomerFilterRef] = strawberry.field(default=UNSET, description="Conditions on the customer.")
    and_: Optional[List["InvoiceFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["InvoiceFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["InvoiceFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields invoices can be sorted by.")
class InvoiceSortField(enum.Enum):
    ID = "ID"
    NUMBER = "NUMBER"
    ISSUED_AT = "ISSUED_AT"
    DUE_AT = "DUE_AT"
    TOTAL = "TOTAL"


@strawberry.input(description="One sort key for invoices; ties are broken by ID.")
class InvoiceSort:
    field: InvoiceSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")


@strawberry.input(description="Conditions on invoice lines; all given fields must hold.")
class InvoiceLineFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The line's ID.")
    sku: Optional[StringFilter] = strawberry.field(default=UNSET, description="SKU.")
    product_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The product's ID.")
    and_: Optional[List["InvoiceLineFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["InvoiceLineFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["InvoiceLineFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields invoice lines can be sorted by.")
class InvoiceLineSortField(enum.Enum):
    ID = "ID"
    LINE_NO = "LINE_NO"


@strawberry.input(description="One sort key for invoice lines; ties are broken by ID.")
class InvoiceLineSort:
    field: InvoiceLineSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")


@strawberry.input(description="Conditions on payments; all given fields must hold.")
class PaymentFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The payment's ID.")
    amount: Optional[DecimalFilter] = strawberry.field(default=UNSET, description="Amount.")
    method: Optional[PaymentMethodFilter] = strawberry.field(default=UNSET, description="Method.")
    paid_at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="When paid.")
    invoice_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The invoice's ID.")
    invoice: Optional[InvoiceFilter] = strawberry.field(default=UNSET, description="Conditions on the invoice.")
    and_: Optional[List["PaymentFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["PaymentFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["PaymentFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields payments can be sorted by.")
class PaymentSortField(enum.Enum):
    ID = "ID"
    PAID_AT = "PAID_AT"
    AMOUNT = "AMOUNT"


@strawberry.input(description="One sort key for payments; ties are broken by ID.")
class PaymentSort:
    field: PaymentSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")


@strawberry.input(description="Issue the invoice of an approved or fulfilled order.")
class IssueInvoiceInput:
    order_id: strawberry.ID = strawberry.field(
        description="The order to invoice; it must have no invoice that is not void."
    )
    idempotency_key: Optional[str] = strawberry.field(
        default=UNSET,
        description="Makes retries safe: a repeat with the same key returns the same invoice (up to 100 characters).",
    )


@strawberry.input(description="Money received against an invoice.")
class RecordPaymentInput:
    invoice_id: strawberry.ID = strawberry.field(description="The invoice paid (issued, partially paid or overdue).")
    amount: decimal.Decimal = strawberry.field(
        description="Amount received: positive, at most 2 decimal places, at most the amount due."
    )
    method: PaymentMethod = strawberry.field(description="How it was paid.")
    paid_at: Optional[dt.datetime] = strawberry.field(
        default=UNSET, description="When it was paid, with a UTC offset, not in the future; now when left out."
    )
    reference: Optional[str] = strawberry.field(
        default=UNSET, description="Bank or card reference (up to 64 characters)."
    )
    idempotency_key: Optional[str] = strawberry.field(
        default=UNSET,
        description="Makes retries safe: a repeat with the same key records nothing and returns the first payment.",
    )


@strawberry.input(description="Void an invoice that has no payments.")
class VoidInvoiceInput:
    id: strawberry.ID = strawberry.field(description="The invoice.")
    version: Optional[int] = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    reason: Optional[str] = strawberry.field(
        default=UNSET, description="Why it is voided (up to 500 characters), kept in the audit log."
    )


@strawberry.input(description="Which invoices the overdue sweep looks at.")
class SweepOverdueInvoicesInput:
    as_of: Optional[dt.datetime] = strawberry.field(
        default=UNSET,
        description="Mark invoices due before this moment (not in the future); now when left out.",
    )
