"""Placing an order: the draft becomes a promise.

In one transaction, with every row it depends on locked: the order (its state,
lines and guards, via ``lock_for``), its customer (FOR SHARE: nobody deactivates
it or lowers its credit limit meanwhile) and its products (FOR UPDATE, in id
order). Then: is there stock for every product, does the customer's credit
cover it, reserve the stock, and approve the order at once when its total is
within the organization's approval threshold.

With an idempotency key, a repeated request (a client retrying after a lost
response) returns the order the first one placed and does nothing again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.errors import CommandError
from app.events.orders import ORDER_APPROVED, ORDER_PLACED, OrderApprovedPayload, OrderPlacedPayload
from resolvers.orders import stock
from resolvers.orders.inputs import PlaceOrder
from resolvers.orders.lines import ZERO
from resolvers.orders.records import STATE_FIELDS, diff, summary
from resolvers.planner.ids import encode_id
from resolvers.writes.checks import Checks
from resolvers.writes.idempotency import claim, remember
from resolvers.writes.lifecycle import lock_for
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Row, WriteSession

# Invoices the customer still owes money on.
_OPEN_RECEIVABLES = (
    "SELECT COALESCE(sum(i.total - i.amount_paid), 0) FROM invoices i"
    " WHERE i.org_id = %(org)s AND i.customer_id = c.id AND i.status IN ('issued', 'partially_paid', 'overdue')"
)


async def place_order(session: WriteSession, command: PlaceOrder) -> Outcome:
    pk, key = command.id, command.idempotency_key
    if key is not None:
        # Claimed before the order's lock: a concurrent repeat waits on the key's
        # row until this transaction ends, then replays its outcome (or, if this
        # one was refused, acts itself). The key is not part of what is compared;
        # "placeOrder" is the operation as stored keys name it.
        replay = await claim(session, key, "placeOrder", _fingerprinted(command))
        if replay is not None:
            return Outcome(replay.entity_type, replay.entity_id)
    before = await lock_for(session, "Order", "PLACE", pk, version=command.version)
    problems = Checks()
    threshold = await _check_credit(session, problems, before)
    for product in await stock.lock(session, pk):
        available = product["stock_on_hand"] - product["stock_reserved"]
        if product["quantity"] > available:
            problems.fail(
                ("lines", product["first_index"]),
                "INSUFFICIENT_STOCK",
                f"{product['sku']}: {product['quantity']} ordered, {max(available, 0)} available",
            )
    problems.done()
    await stock.reserve(session, pk)
    status = "approved" if before["total"] <= threshold else "placed"
    after = await session.row(
        "UPDATE orders SET status = %(status)s, placed_at = now(),"
        " approved_at = CASE WHEN %(approved)s THEN now() END,"
        " version = version + 1, updated_at = now() WHERE id = %(pk)s RETURNING *",
        {"status": status, "approved": status == "approved", "pk": pk},
    )
    assert after is not None
    events = [ORDER_PLACED.announce(OrderPlacedPayload(**summary(after)))]
    if status == "approved":
        approval = OrderApprovedPayload(
            number=after["number"], status=after["status"], total=after["total"], automatic=True
        )
        events.append(ORDER_APPROVED.announce(approval))
    await session.record(ORDER_PLACED.name, "Order", pk, diff(before, after, STATE_FIELDS), events)
    if key is not None:
        await remember(session, key, "Order", pk)
    return Outcome("Order", pk)


def _fingerprinted(command: PlaceOrder) -> dict[str, Any]:
    """What a repeat must ask for to be the same request: the order and, when
    given, the version. Keys already claimed hold hashes of this shape (the
    order's global ID, no version when none was given): it stays, so their
    repeats still match."""
    request: dict[str, Any] = {"id": encode_id("Order", command.id)}
    if command.version is not None:
        request["version"] = command.version
    return request


async def _check_credit(session: WriteSession, problems: Checks, order: Row) -> Decimal:
    """Open receivables plus this order must stay within the customer's credit limit.
    Answers the organization's approval threshold, read in the same round trip.

    The message names no amounts: sales may place orders but not read credit limits."""
    customer = await session.row(
        f"SELECT c.status, c.credit_limit, ({_OPEN_RECEIVABLES}) AS open_receivables,"
        " (SELECT z.order_approval_threshold FROM organizations z WHERE z.id = %(org)s) AS approval_threshold"
        " FROM customers c WHERE c.id = %(customer)s FOR SHARE OF c",
        {"customer": order["customer_id"]},
    )
    assert customer is not None  # orders.customer_id is a RESTRICT foreign key
    if customer["status"] != "active":  # deactivated while we waited for its lock
        problems.errors.append(CommandError("CUSTOMER_NOT_ACTIVE", "the order's customer is not active"))
    elif (customer["open_receivables"] or ZERO) + order["total"] > customer["credit_limit"]:
        problems.errors.append(
            CommandError(
                "CREDIT_LIMIT_EXCEEDED", "the customer's open invoices plus this order exceed its credit limit"
            )
        )
    threshold: Decimal = customer["approval_threshold"]
    return threshold
