"""Order commands: create a draft, edit its lines, and the lifecycle
(draft → placed → (approved) → fulfilled | cancelled) declared in ``app/workflows.py``.

Every order command is reachable from here. Line edits are in ``editing.py``,
placing (stock, credit, idempotency) in ``placing.py``, stock movements in
``stock.py``.
"""

from __future__ import annotations

from app.events import Announcement
from app.events.orders import (
    ORDER_APPROVED,
    ORDER_CANCELLED,
    ORDER_CREATED,
    ORDER_FULFILLED,
    OrderApprovedPayload,
    OrderCreatedPayload,
    OrderMovedPayload,
)
from app.workflows import ORDER
from resolvers.orders import drafts, stock
from resolvers.orders.editing import add_order_line, remove_order_line, update_order_line
from resolvers.orders.inputs import ApproveOrder, CancelOrder, CreateOrder, FulfilOrder
from resolvers.orders.lines import MAX_LINES, check_line, line_api, priced_from, product_ids
from resolvers.orders.placing import place_order
from resolvers.orders.records import STATE_FIELDS, diff, summary
from resolvers.writes.checks import Checks
from resolvers.writes.inputs import UNCHANGED
from resolvers.writes.lifecycle import acting_roles, lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Row, WriteSession

__all__ = [
    "add_order_line",
    "approve_order",
    "cancel_order",
    "create_order",
    "fulfil_order",
    "place_order",
    "remove_order_line",
    "update_order_line",
]


async def create_order(session: WriteSession, command: CreateOrder) -> Outcome:
    """A draft for a customer the principal may act for, with the lines priced now."""
    require_role(session, ORDER.creators, "create orders")
    roles = acting_roles(session, ORDER.creators)
    checks = Checks()
    customer_pk = command.customer_id
    if command.sales_rep_id is not UNCHANGED:
        rep_pk = command.sales_rep_id
    elif "sales" in roles:
        rep_pk = session.principal.employee_id  # a rep's order is the rep's own
    else:
        rep_pk = None
    note = checks.text(("note",), command.note, max_length=2000)
    if len(command.lines) > MAX_LINES:
        checks.fail(("lines",), "INVALID", f"an order may have at most {MAX_LINES} lines")
    requests = [check_line(checks, ("lines", i), line) for i, line in enumerate(command.lines[:MAX_LINES])]
    # Every problem at once, the rows referred to included (read together: ``drafts.py``).
    found = await drafts.references(
        session, customer_pk, session.scope("Customer", "t", roles), rep_pk, product_ids(requests)
    )
    # A lead may get a draft; placing needs the customer active. A sales rep acts for its own accounts only.
    if found.customer_status is None:
        checks.fail(("customer_id",), "NOT_FOUND", "no Customer with this ID")
    elif found.customer_status == "inactive":
        checks.fail(("customer_id",), "CUSTOMER_NOT_ACTIVE", "the customer is inactive")
    if rep_pk is not None and not found.rep_found:
        checks.fail(("sales_rep_id",), "NOT_FOUND", "no Employee with this ID")
    priced = priced_from(found.products, checks, requests)
    checks.done()
    after, lines = await drafts.insert_draft(session, customer_pk, rep_pk, note, priced)  # version 1
    pk = after["id"]
    changed = diff(None, after, ("number", "status", "customerId", "salesRepId", "note", "subtotal", "tax", "total"))
    changed["lines"] = {"before": None, "after": [line_api(line) for line in lines]}
    event = ORDER_CREATED.announce(OrderCreatedPayload(**summary(after), lines=len(lines)))
    await session.record(ORDER_CREATED.name, "Order", pk, changed, [event])
    return Outcome("Order", pk)


async def approve_order(session: WriteSession, command: ApproveOrder) -> Outcome:
    """A placed order above the approval threshold, approved (finance, admin, or a manager of its rep)."""
    before = await lock_for(session, "Order", "APPROVE", command.id, version=command.version)
    after = await session.update("orders", before["id"], {"status": "approved"}, stamps=["approved_at"])
    approval = OrderApprovedPayload(
        number=after["number"], status=after["status"], total=after["total"], previous=before["status"]
    )
    await _record(session, before, after, ORDER_APPROVED.announce(approval))
    return Outcome("Order", before["id"])


async def fulfil_order(session: WriteSession, command: FulfilOrder) -> Outcome:
    """Shipped: the reserved units leave the stock on hand."""
    before = await lock_for(session, "Order", "FULFIL", command.id, version=command.version)
    await stock.lock(session, before["id"])
    await stock.ship(session, before["id"])
    after = await session.update("orders", before["id"], {"status": "fulfilled"}, stamps=["fulfilled_at"])
    event = ORDER_FULFILLED.announce(OrderMovedPayload(**summary(after), previous=before["status"]))
    await _record(session, before, after, event)
    return Outcome("Order", before["id"])


async def cancel_order(session: WriteSession, command: CancelOrder) -> Outcome:
    """Cancelled (not once invoiced); a placed or approved order gives its reserved stock back."""
    checks = Checks()
    reason = checks.text(("reason",), command.reason, max_length=500)
    checks.done()
    before = await lock_for(session, "Order", "CANCEL", command.id, version=command.version)
    if before["status"] in ("placed", "approved"):  # only these hold reservations
        await stock.lock(session, before["id"])
        await stock.release(session, before["id"])
    # A cancelled draft keeps placed_at empty: it never was placed.
    after = await session.update("orders", before["id"], {"status": "cancelled"}, stamps=["cancelled_at"])
    event = ORDER_CANCELLED.announce(OrderMovedPayload(**summary(after), previous=before["status"]))
    await _record(session, before, after, event, reason=reason)
    return Outcome("Order", before["id"])


async def _record(
    session: WriteSession, before: Row, after: Row, event: Announcement, *, reason: str | None = None
) -> None:
    """The audit row, named as the event (state fields, and a cancellation's
    reason when one was given), and the event."""
    changed = diff(before, after, STATE_FIELDS)
    if reason is not None:
        changed["reason"] = reason
    await session.record(event.event.name, "Order", before["id"], changed, [event])
