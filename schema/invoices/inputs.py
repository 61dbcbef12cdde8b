"""Invoice, invoice line and payment filters and sorting."""

from __future__ import annotations

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
