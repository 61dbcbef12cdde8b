"""The invoice and payment events."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from app.events.catalog import declare


class InvoiceIssuedPayload(TypedDict):
    number: str
    orderId: str
    total: Decimal


class PaymentRecordedPayload(TypedDict):
    invoiceId: str
    paymentId: str
    amount: Decimal
    amountDue: Decimal


class InvoicePaidPayload(TypedDict):
    invoiceId: str
    number: str
    total: Decimal


class InvoiceOverduePayload(TypedDict):
    invoiceId: str
    number: str
    amountDue: Decimal


class InvoiceVoidedPayload(TypedDict):
    invoiceId: str
    number: str
    orderId: str


INVOICE_ISSUED = declare(
    "invoice.issued",
    "Invoice",
    InvoiceIssuedPayload,
    "An order was invoiced: the invoice has its number and a total that never changes.",
)
PAYMENT_RECORDED = declare(
    "invoice.payment_recorded",
    "Invoice",
    PaymentRecordedPayload,
    "A payment was recorded against the invoice; amountDue is what is still owed.",
)
INVOICE_PAID = declare("invoice.paid", "Invoice", InvoicePaidPayload, "Nothing is due on the invoice any more.")
INVOICE_OVERDUE = declare(
    "invoice.overdue",
    "Invoice",
    InvoiceOverduePayload,
    "The invoice passed its due date with amountDue still owed.",
)
INVOICE_VOIDED = declare(
    "invoice.voided",
    "Invoice",
    InvoiceVoidedPayload,
    "The invoice was voided: nothing is owed on it, it keeps its number, and its order may be invoiced again.",
)
