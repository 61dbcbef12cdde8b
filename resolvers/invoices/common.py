"""What the invoice commands share: the audit view of an invoice, and checks of moments in time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from resolvers.writes.checks import Checks, Path, label
from resolvers.writes.session import Row

# A client's clock may run a little ahead of ours: a moment up to this far in
# the future counts as now.
CLOCK_SKEW = dt.timedelta(minutes=1)


def invoice_api(row: Row) -> dict[str, Any]:
    """An invoice row as the audit log records it (API field names)."""
    return {
        "number": row["number"],
        "status": row["status"],
        "issuedAt": row["issued_at"],
        "dueAt": row["due_at"],
        "subtotal": row["subtotal"],
        "tax": row["tax"],
        "total": row["total"],
        "amountPaid": row["amount_paid"],
        "orderId": row["order_id"],
        "customerId": row["customer_id"],
    }


def check_moment(checks: Checks, path: Path, value: dt.datetime | None) -> dt.datetime | None:
    """A moment that has happened, with a UTC offset (the DateTime scalar already
    insists on one; the CLI and other callers reach here without it)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        checks.fail(path, "INVALID", f"{label(path)} needs a UTC offset")
        return None
    if value > dt.datetime.now(dt.UTC) + CLOCK_SKEW:
        checks.fail(path, "INVALID", f"{label(path)} is in the future")
    return value
