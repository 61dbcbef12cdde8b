"""Editing a draft's lines: add, change, remove (the EDIT transition).

Each edit locks the order (so only drafts change, one edit at a time), changes
the line, recomputes the totals from the lines and bumps the order's version:
a client holding an older version gets a CONFLICT instead of overwriting.
A line keeps the price it was added with; line numbers are not reused or
renumbered after a removal (a line's number is how people refer to it).
"""

from __future__ import annotations

from app.errors import CommandError
from app.events.orders import ORDER_UPDATED, OrderUpdatedPayload
from app.workflows import ORDER
from resolvers.orders.inputs import AddOrderLine, RemoveOrderLine, UpdateOrderLine
from resolvers.orders.lines import check_discount, check_line, insert, line_api, price, recompute_totals
from resolvers.orders.records import TOTAL_FIELDS, diff, summary
from resolvers.writes.checks import Checks, not_found
from resolvers.writes.inputs import UNCHANGED
from resolvers.writes.lifecycle import lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Row, WriteSession

EDIT = ORDER["EDIT"]


async def add_order_line(session: WriteSession, command: AddOrderLine) -> Outcome:
    require_role(session, EDIT.roles, "edit orders")
    checks = Checks()
    request = check_line(checks, (), command)
    checks.done()
    pk = command.order_id
    before = await lock_for(session, "Order", "EDIT", pk, id_path=("order_id",), version=command.version)
    priced = await price(session, checks, [request])
    checks.done()
    (line,) = await insert(session, pk, priced)
    await _finish(session, "order.line_added", before, None, line)
    return Outcome("Order", pk)


async def update_order_line(session: WriteSession, command: UpdateOrderLine) -> Outcome:
    """A new quantity and/or discount; the unit price stays the one the line was added with."""
    require_role(session, EDIT.roles, "edit orders")
    checks = Checks()
    quantity = None if command.quantity is UNCHANGED else checks.quantity(("quantity",), command.quantity)
    discount = None if command.discount is UNCHANGED else check_discount(checks, ("discount",), command.discount)
    checks.done()
    before, line = await _lock_line(session, command.line_id, command.version)
    quantity = line["quantity"] if quantity is None else quantity
    discount = line["discount"] if discount is None else discount
    gross = quantity * line["unit_price"]
    if discount > gross:
        at = "quantity" if command.discount is UNCHANGED else "discount"
        raise CommandError("INVALID", f"discount is more than the line's gross amount ({gross})", field=[at])
    changed = await session.row(
        "UPDATE order_lines SET quantity = %(quantity)s, discount = %(discount)s,"
        " line_total = %(quantity)s * unit_price - %(discount)s WHERE id = %(pk)s RETURNING *",
        {"quantity": quantity, "discount": discount, "pk": command.line_id},
    )
    assert changed is not None
    await _finish(session, "order.line_updated", before, line, changed)
    return Outcome("Order", before["id"])


async def remove_order_line(session: WriteSession, command: RemoveOrderLine) -> Outcome:
    require_role(session, EDIT.roles, "edit orders")
    before, line = await _lock_line(session, command.line_id, command.version)
    await session.execute("DELETE FROM order_lines WHERE id = %(pk)s", {"pk": command.line_id})
    await _finish(session, "order.line_removed", before, line, None)
    return Outcome("Order", before["id"])


async def _lock_line(session: WriteSession, line_pk: int, version: int | None) -> tuple[Row, Row]:
    """The line's order locked for EDIT, and the line. A line the principal cannot
    see (another organization's, another rep's account) is NOT_FOUND."""
    visible, params = session.scope("OrderLine", "t")
    order_pk = await session.value(
        f"SELECT t.order_id FROM order_lines t WHERE t.id = %(pk)s AND {visible}", {**params, "pk": line_pk}
    )
    if order_pk is None:
        raise not_found(("line_id",), "OrderLine")
    order = await lock_for(session, "Order", "EDIT", order_pk, id_path=("line_id",), version=version)
    # Read again under the order's lock: a concurrent edit may have removed it.
    line = await session.row(
        "SELECT * FROM order_lines WHERE id = %(pk)s AND order_id = %(order)s", {"pk": line_pk, "order": order_pk}
    )
    if line is None:
        raise not_found(("line_id",), "OrderLine")
    return order, line


async def _finish(session: WriteSession, action: str, before: Row, old_line: Row | None, new_line: Row | None) -> None:
    """New totals and version; the audit row (``action``: the line before and
    after, the totals) and the order.updated event."""
    after = await recompute_totals(session, before["id"])
    changed = diff(before, after, TOTAL_FIELDS)
    changed["line"] = {
        "before": None if old_line is None else line_api(old_line),
        "after": None if new_line is None else line_api(new_line),
    }
    line_no = (new_line or old_line)["line_no"]  # type: ignore[index]
    change = action.removeprefix("order.")
    event = ORDER_UPDATED.announce(OrderUpdatedPayload(**summary(after), change=change, lineNo=line_no))
    await session.record(action, "Order", before["id"], changed, [event])
