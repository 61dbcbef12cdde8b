"""Settling an issued invoice: whether it is paid, partly paid, open or overdue, and
the payments behind that, which always add up to the invoice's amount_paid."""

from __future__ import annotations

import random
from decimal import Decimal

from app.seed.common import DAY, ZERO, Dataset, at, cents

PAYMENT_COLUMNS = ("id", "org_id", "invoice_id", "amount", "method", "paid_at", "reference", "created_at")

# Businesses mostly pay by bank transfer; consumers mostly by card.
METHODS = ("bank_transfer", "card", "cash", "check")
METHOD_CUM = {"consumer": (0.15, 0.93, 1.0, 1.0), "business": (0.72, 0.88, 0.88, 1.0)}
INSTALMENTS_CUM = (0.80, 0.95, 1.0)  # one, two or three payments
LATE_DAYS = 20  # paid invoices were settled up to this long after their due date
MIN_OPEN = 2 * 3600  # an invoice issued this recently has no payment yet


def settle(
    data: Dataset, org_id: int, invoice_id: int, segment: str, total: Decimal, issued: int, due: int, rng: random.Random
) -> tuple[str, Decimal, int, int]:
    """Write the invoice's payments; return (status, amount_paid, version, updated).
    Times are seconds before the anchor: ``due`` <= 0 means it is not due yet."""
    total_cents = int(total.scaleb(2))
    roll = rng.random()
    if issued < MIN_OPEN or total_cents < 2:  # too fresh (or too small) to have been paid
        return ("overdue", ZERO, 2, due) if due > 0 else ("issued", ZERO, 1, issued)
    if due > 0:  # due before the anchor: paid, or overdue with nothing or part paid
        if roll < 0.88:
            status, paid_cents = "paid", total_cents
        elif roll < 0.94:
            status, paid_cents = "overdue", 0
        else:
            status, paid_cents = "overdue", rng.randint(1, total_cents - 1)
    elif roll < 0.30:
        status, paid_cents = "paid", total_cents
    elif roll < 0.55:
        status, paid_cents = "partially_paid", rng.randint(1, total_cents - 1)
    else:
        status, paid_cents = "issued", 0
    if paid_cents == 0:
        return (status, ZERO, 2, due) if status == "overdue" else (status, ZERO, 1, issued)
    # Paid strictly after issue and before the anchor (or a little after the due date).
    earliest = issued - 1
    latest = max(0, due - LATE_DAYS * DAY) if status == "paid" else 0
    instalments = rng.random()
    count = next(k for k, edge in enumerate(INSTALMENTS_CUM, 1) if instalments < edge)
    count = min(count, paid_cents, earliest - latest + 1)
    times = sorted((earliest - int(rng.random() * (earliest - latest + 1)) for _ in range(count)), reverse=True)
    cuts = sorted(rng.sample(range(1, paid_cents), count - 1)) if count > 1 else []
    bounds = [0, *cuts, paid_cents]
    method_cum = METHOD_CUM["consumer" if segment == "consumer" else "business"]
    method = rng.choices(METHODS, cum_weights=method_cum)[0]  # a customer keeps paying the same way
    first = data.reserve("payments", count)
    rows = data.rows["payments"]
    for k, when in enumerate(times):
        paid_at = at(when)  # recorded as it arrived
        rows.append(
            (
                first + k,
                org_id,
                invoice_id,
                cents(bounds[k + 1] - bounds[k]),
                method,
                paid_at,
                _reference(rng, method),
                paid_at,
            )
        )
    version = 1 + count + (1 if status == "overdue" else 0)
    updated = min(times[-1], due) if status == "overdue" else times[-1]
    return status, cents(paid_cents), version, updated


def _reference(rng: random.Random, method: str) -> str | None:
    if method == "bank_transfer":
        return f"TRF-{rng.randrange(10**10):010d}"
    if method == "card":
        return f"CARD-{rng.randrange(10**4):04d}-{rng.randrange(10**6):06d}"
    if method == "check":
        return f"CHK-{rng.randint(1000, 99999)}"
    return None  # cash
