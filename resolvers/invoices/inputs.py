"""The inputs of the invoice and payment commands, in domain terms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class IssueInvoice:
    """Invoice an approved or fulfilled order. ``idempotency_key`` makes a retry
    return the first invoice instead of refusing a second."""

    order_id: int
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RecordPayment:
    """A payment received against an invoice. ``paid_at`` defaults to now;
    ``idempotency_key`` makes a retry return the first payment instead of a second."""

    invoice_id: int
    amount: Decimal
    method: str  # a payment method as stored: "bank_transfer", "card", ...
    paid_at: dt.datetime | None = None
    reference: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class VoidInvoice:
    """Void the invoice ``id``; with ``version``, only if it is still the version
    the caller read. ``reason`` goes to the audit log."""

    id: int
    version: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class SweepOverdueInvoices:
    """Mark the open invoices due before ``as_of`` (now when None) overdue."""

    as_of: dt.datetime | None = None
