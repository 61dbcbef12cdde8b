"""The order events.

Every payload is a summary of the order (its number, state and total, never
personal data) plus what the event adds.
"""

# No ``from __future__ import annotations`` here: on Python 3.11 a TypedDict
# whose annotations are strings counts NotRequired keys as required, and
# ``announce`` would refuse an automatic approval for lacking ``previous``.

from decimal import Decimal
from typing import NotRequired, TypedDict

from app.events.catalog import declare


class OrderSummary(TypedDict):
    number: str
    status: str  # as stored: "draft", "placed", ...
    total: Decimal


class OrderCreatedPayload(OrderSummary):
    lines: int  # how many lines the draft starts with


class OrderUpdatedPayload(OrderSummary):
    change: str  # "line_added", "line_updated" or "line_removed"
    lineNo: int  # the line's number on the order


class OrderPlacedPayload(OrderSummary):
    pass


class OrderApprovedPayload(OrderSummary):
    previous: NotRequired[str]  # the state it was approved from; absent when approved on placing
    automatic: NotRequired[bool]  # true when approved on placing, within the approval threshold


class OrderMovedPayload(OrderSummary):
    previous: str  # the state it left


ORDER_CREATED = declare(
    "order.created", "Order", OrderCreatedPayload, "A draft order was created, its lines priced from the catalog."
)
ORDER_UPDATED = declare(
    "order.updated",
    "Order",
    OrderUpdatedPayload,
    "A draft's line was added, changed or removed (change, lineNo); total is the new total.",
)
ORDER_PLACED = declare(
    "order.placed",
    "Order",
    OrderPlacedPayload,
    "A draft was placed: its stock is reserved and the customer's credit checked; status is approved when"
    " the total is within the approval threshold, else placed.",
)
ORDER_APPROVED = declare(
    "order.approved",
    "Order",
    OrderApprovedPayload,
    "An order was approved, by someone (previous is the state it left) or on placing (automatic is true).",
)
ORDER_FULFILLED = declare(
    "order.fulfilled", "Order", OrderMovedPayload, "An order was shipped: its reserved stock left the warehouse."
)
ORDER_CANCELLED = declare(
    "order.cancelled",
    "Order",
    OrderMovedPayload,
    "An order was cancelled (previous is the state it left); stock it had reserved is available again.",
)
