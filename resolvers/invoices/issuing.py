"""Issuing an order's invoice: a gapless number, and a snapshot of the order that
never changes afterwards (alembic 0005 makes the database refuse changes too)."""

from __future__ import annotations

from app.events.invoices import INVOICE_ISSUED, InvoiceIssuedPayload
from app.workflows import ORDER
from resolvers.invoices.common import invoice_api
from resolvers.invoices.inputs import IssueInvoice
from resolvers.planner.ids import encode_id
from resolvers.writes.idempotency import claim, remember
from resolvers.writes.lifecycle import lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession, changes

# Invoice years are the organization's calendar years (as the seed numbers them).
_YEAR = "SELECT extract(year FROM now() AT TIME ZONE o.time_zone)::int FROM organizations o WHERE o.id = %(org)s"
# Where a year's sequence starts when its counter is first used: after the seed's
# (or any imported) invoices of that year.
_LAST_SEQ = "SELECT max(seq) FROM invoices WHERE org_id = %(org)s AND year = %(year)s"

# Due after the customer's payment terms, counted in days of the organization's
# calendar (a due date keeps its wall-clock time across a DST change).
_INSERT_INVOICE = """
INSERT INTO invoices (org_id, number, year, seq, order_id, customer_id, status, issued_at, due_at,
                      subtotal, tax, total)
SELECT o.org_id, %(number)s, %(year)s, %(seq)s, o.id, o.customer_id, 'issued', now(),
       ((now() AT TIME ZONE z.time_zone) + make_interval(days => c.payment_terms_days)) AT TIME ZONE z.time_zone,
       o.subtotal, o.tax, o.total
FROM orders o
JOIN customers c ON c.id = o.customer_id
JOIN organizations z ON z.id = o.org_id
WHERE o.id = %(order)s AND o.org_id = %(org)s
RETURNING *
"""

# One statement however many lines: the snapshot is taken by PostgreSQL.
_SNAPSHOT_LINES = """
INSERT INTO invoice_lines (org_id, invoice_id, line_no, product_id, sku, description, quantity, unit_price,
                           discount, tax_rate, line_total)
SELECT l.org_id, %(invoice)s, row_number() OVER (ORDER BY l.line_no, l.id), l.product_id, p.sku, p.name,
       l.quantity, l.unit_price, l.discount, l.tax_rate, l.line_total
FROM order_lines l
JOIN products p ON p.id = l.product_id
WHERE l.order_id = %(order)s
"""


async def issue_invoice(session: WriteSession, command: IssueInvoice) -> Outcome:
    step = ORDER["INVOICE"]
    require_role(session, step.roles, "issue invoices")
    order_pk, key = command.order_id, command.idempotency_key
    if key is not None:
        replay = await claim(session, key, "issueInvoice", {"orderId": order_pk})
        if replay is not None:
            return Outcome(replay.entity_type, replay.entity_id)
    # Locks the order: a concurrent issue of the same order waits here, and the
    # partial unique index on invoices.order_id refuses it if it slips past the guard.
    await lock_for(session, "Order", "INVOICE", order_pk, id_path=("order_id",))
    year = await session.value(_YEAR)
    # The counter row stays locked until commit: numbers go out one transaction
    # at a time, and a rolled-back issue gives its number back.
    seq = await session.next_number(f"invoice:{year}", _LAST_SEQ, {"year": year})
    invoice = await session.row(
        _INSERT_INVOICE, {"number": f"INV-{year}-{seq:06d}", "year": year, "seq": seq, "order": order_pk}
    )
    assert invoice is not None
    await session.execute(_SNAPSHOT_LINES, {"invoice": invoice["id"], "order": order_pk})
    issued = InvoiceIssuedPayload(
        number=invoice["number"], orderId=encode_id("Order", order_pk), total=invoice["total"]
    )
    await session.record(
        INVOICE_ISSUED.name,
        "Invoice",
        invoice["id"],
        changes(None, invoice_api(invoice)),
        [INVOICE_ISSUED.announce(issued)],
    )
    if key is not None:
        await remember(session, key, "Invoice", invoice["id"])
    return Outcome("Invoice", invoice["id"])
