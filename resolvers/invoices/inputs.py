"""The inputs of the invoice and payment commands, in domain terms."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


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
