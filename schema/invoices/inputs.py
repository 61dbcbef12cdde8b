"""Invoice, invoice line and payment filters and sorting, derived from their catalog entries; the inputs of the
invoice mutations."""

from __future__ import annotations

import datetime as dt
import decimal

import strawberry
from strawberry import UNSET

from resolvers.invoices.catalog import INVOICE, INVOICE_LINE, PAYMENT
from schema.derived_inputs import filter_input, sort_inputs
from schema.invoices.types import Invoice, InvoiceLine, Payment, PaymentMethod


@filter_input(INVOICE, Invoice)
class InvoiceFilter:
    """Its fields are the filters of ``INVOICE`` in resolvers/invoices/catalog.py."""


InvoiceSortField, InvoiceSort = sort_inputs(INVOICE)


@filter_input(INVOICE_LINE, InvoiceLine)
class InvoiceLineFilter:
    """Its fields are the filters of ``INVOICE_LINE`` in resolvers/invoices/catalog.py."""


InvoiceLineSortField, InvoiceLineSort = sort_inputs(INVOICE_LINE)


@filter_input(PAYMENT, Payment)
class PaymentFilter:
    """Its fields are the filters of ``PAYMENT`` in resolvers/invoices/catalog.py."""


PaymentSortField, PaymentSort = sort_inputs(PAYMENT)


@strawberry.input(description="Issue the invoice of an approved or fulfilled order.")
class IssueInvoiceInput:
    order_id: strawberry.ID = strawberry.field(
        description="The order to invoice; it must have no invoice that is not void."
    )
    idempotency_key: str | None = strawberry.field(
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
    paid_at: dt.datetime | None = strawberry.field(
        default=UNSET, description="When it was paid, with a UTC offset, not in the future; now when left out."
    )
    reference: str | None = strawberry.field(default=UNSET, description="Bank or card reference (up to 64 characters).")
    idempotency_key: str | None = strawberry.field(
        default=UNSET,
        description="Makes retries safe: a repeat with the same key records nothing and returns the first payment.",
    )


@strawberry.input(description="Void an invoice that has no payments.")
class VoidInvoiceInput:
    id: strawberry.ID = strawberry.field(description="The invoice.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    reason: str | None = strawberry.field(
        default=UNSET, description="Why it is voided (up to 500 characters), kept in the audit log."
    )


@strawberry.input(description="Which invoices the overdue sweep looks at.")
class SweepOverdueInvoicesInput:
    as_of: dt.datetime | None = strawberry.field(
        default=UNSET,
        description="Mark invoices due before this moment (not in the future); now when left out.",
    )
