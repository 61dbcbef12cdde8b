"""Order commands: create a draft, edit its lines, and the lifecycle
(draft → placed → (approved) → fulfilled | cancelled) declared in ``app/workflows.py``.

Line edits are in ``editing.py``, placing (stock, credit, idempotency) in
``placing.py``, stock movements in ``stock.py``.
"""

from __future__ import annotations

from typing import Any

from app.workflows import ORDER
from resolvers.writes.checks import Checks
from resolvers.writes.lifecycle import acting_roles, lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Row, WriteSession
from resolvers.orders import stock
from resolvers.orders.editing import add_line, remove_line, update_line
from resolvers.orders.lines import MAX_LINES, check_line, insert, line_api, price, recompute_totals
from resolvers.orders.placing import place
from resolvers.orders.records import STATE_FIELDS, diff, summary

__all__ = ["add_line", "approve", "cancel", "create", "fulfil", "place", "remove_line", "update_line"]


async def create(session: WriteSession, data: dict[str, Any]) -> Outcome:
    """A draft for a customer the principal may act for, with the lines priced now."""
    require_role(session, ORDER.creators, "create orders")
    roles = acting_roles(session, ORDER.creators)
    checks = Checks()
    customer_pk = checks.global_id(("input", "customerId"), data.get("customerId"), "Customer")
    rep_pk = checks.global_id(("input", "salesRepId"), data.get("salesRepId"), "Employee", required=False)
    if "salesRepId" not in data and "sales" in roles:
        rep_pk = session.principal.employee_id  # a rep's order is the rep's own
    note = checks.text(("input", "note"), data.get("note"), max_length=2000)
    requested = data.get("lines") or []
    if len(requested) > MAX_LINES:
        checks.fail(("input", "lines"), "INVALID", f"an order may have at most {MAX_LINES} lines")
    requests = [check_line(checks, ("input", "lines", str(i)), line) for i, line in enumerate(requested[:MAX_LINES])]
    # Every problem at once, the rows referred to included.
    await _check_customer(session, checks, customer_pk, roles)
    if rep_pk is not None and not await session.value(
        "SELECT 1 FROM employees WHERE id = %(pk)s AND org_id = %(org)s", {"pk": rep_pk}
    ):
        checks.fail(("input", "salesRepId"), "NOT_FOUND", "no Employee with this ID")
    priced = await price(session, checks, requests)
    checks.done()
    number = await session.sequence_number("order_numbers")
    order = await session.row(
        "INSERT INTO orders (org_id, number, customer_id, sales_rep_id, note)"
        " VALUES (%(org)s, %(number)s, %(customer)s, %(rep)s, %(note)s) RETURNING id",
        {"number": f"SO-{number:07d}", "customer": customer_pk, "rep": rep_pk, "note": note},
    )
    assert order is not None
    pk = order["id"]
    lines = await insert(session, pk, priced)
    after = await recompute_totals(session, pk, bump=False)  # still version 1
    changed = diff(None, after, ("number", "status", "customerId", "salesRepId", "note", "subtotal", "tax", "total"))
    changed["lines"] = {"before": None, "after": [line_api(line) for line in lines]}
    await session.record("order.created", "Order", pk, changed, [("order.created", summary(after, lines=len(lines)))])
    return Outcome("Order", pk)


async def _check_customer(session: WriteSession, checks: Checks, pk: int | None, roles: frozenset[str]) -> None:
    """The customer exists for the principal acting in ``roles`` (sales: its own
    accounts), and is not inactive (a lead may get a draft; placing needs it active)."""
    if pk is None:
        return
    scope, params = session.scope("Customer", "t", roles)
    row = await session.row(f"SELECT t.status FROM customers t WHERE t.id = %(pk)s AND {scope}", {**params, "pk": pk})
    if row is None:
        checks.fail(("input", "customerId"), "NOT_FOUND", "no Customer with this ID")
    elif row["status"] == "inactive":
        checks.fail(("input", "customerId"), "CUSTOMER_NOT_ACTIVE", "the customer is inactive")


async def approve(session: WriteSession, data: dict[str, Any]) -> Outcome:
    """A placed order above the approval threshold, approved (finance, admin, or a manager of its rep)."""
    before = await _lock(session, "APPROVE", data)
    after = await session.update("orders", before["id"], {"status": "approved"}, stamps=["approved_at"])
    await _record(session, "APPROVE", before, after)
    return Outcome("Order", before["id"])


async def fulfil(session: WriteSession, data: dict[str, Any]) -> Outcome:
    """Shipped: the reserved units leave the stock on hand."""
    before = await _lock(session, "FULFIL", data)
    await stock.lock(session, before["id"])
    await stock.ship(session, before["id"])
    after = await session.update("orders", before["id"], {"status": "fulfilled"}, stamps=["fulfilled_at"])
    await _record(session, "FULFIL", before, after)
    return Outcome("Order", before["id"])


async def cancel(session: WriteSession, data: dict[str, Any]) -> Outcome:
    """Cancelled (not once invoiced); a placed or approved order gives its reserved stock back."""
    checks = Checks()
    reason = checks.text(("input", "reason"), data.get("reason"), max_length=500)
    before = await _lock(session, "CANCEL", data, checks)
    if before["status"] in ("placed", "approved"):  # only these hold reservations
        await stock.lock(session, before["id"])
        await stock.release(session, before["id"])
    # A cancelled draft keeps placed_at empty: it never was placed.
    after = await session.update("orders", before["id"], {"status": "cancelled"}, stamps=["cancelled_at"])
    await _record(session, "CANCEL", before, after, reason=reason)
    return Outcome("Order", before["id"])


async def _lock(session: WriteSession, action: str, data: dict[str, Any], checks: Checks | None = None) -> Row:
    checks = checks or Checks()
    pk = checks.global_id(("input", "id"), data.get("id"), "Order")
    checks.done()
    return await lock_for(session, "Order", action, pk, version=data.get("version"))


async def _record(session: WriteSession, action: str, before: Row, after: Row, **extra: Any) -> None:
    """The audit row (state fields, plus e.g. a cancellation's reason) and the transition's event."""
    event = ORDER[action].event
    changed = diff(before, after, STATE_FIELDS)
    for name, value in extra.items():
        if value is not None:
            changed[name] = value
    await session.record(event, "Order", before["id"], changed, [(event, summary(after, previous=before["status"]))])
