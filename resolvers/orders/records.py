"""How orders appear in the audit log and in events: numbers, states and
amounts, never personal data."""

from __future__ import annotations

from typing import Any

from app.events.orders import OrderSummary
from resolvers.writes.session import Row, changes

# API field → column, for the audit log.
COLUMNS = {
    "number": "number",
    "status": "status",
    "customerId": "customer_id",
    "salesRepId": "sales_rep_id",
    "note": "note",
    "subtotal": "subtotal",
    "tax": "tax",
    "total": "total",
    "placedAt": "placed_at",
    "approvedAt": "approved_at",
    "fulfilledAt": "fulfilled_at",
    "cancelledAt": "cancelled_at",
}
STATE_FIELDS = ("status", "placedAt", "approvedAt", "fulfilledAt", "cancelledAt")
TOTAL_FIELDS = ("subtotal", "tax", "total")


def order_api(row: Row) -> dict[str, Any]:
    return {field: row[column] for field, column in COLUMNS.items()}


def diff(before: Row | None, after: Row, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The audit ``changes`` between two versions of an order's row."""
    return changes(None if before is None else order_api(before), order_api(after), fields)


def summary(order: Row) -> OrderSummary:
    """An order in an event payload (each event adds its own keys)."""
    return OrderSummary(number=order["number"], status=order["status"], total=order["total"])
