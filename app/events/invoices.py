"""The invoice and payment events."""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from app.events.catalog import declare


class PaymentRecordedPayload(TypedDict):
    invoiceId: str
    paymentId: str
    amount: Decimal
    amountDue: Decimal


class InvoicePaidPayload(TypedDict):
    invoiceId: str
    number: str
    total: Decimal


PAYMENT_RECORDED = declare(
    "invoice.payment_recorded",
    "Invoice",
    PaymentRecordedPayload,
    "A payment was recorded against the invoice; amountDue is what is still owed.",
)
INVOICE_PAID = declare(
    "invoice.paid", "Invoice", InvoicePaidPayload, "Nothing is due on the invoice any more."
)
