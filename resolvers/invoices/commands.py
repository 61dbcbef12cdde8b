"""Invoice commands: issue an order's invoice, record payments, void, and the
overdue sweep. Each lives in its own module; voiding is small enough to live here."""

from __future__ import annotations

from typing import Any

from app.workflows import INVOICE
from resolvers.writes.checks import Checks
from resolvers.writes.lifecycle import lock_for
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession, changes
from resolvers.invoices.common import invoice_api
from resolvers.invoices.issuing import issue
from resolvers.invoices.payments import record_payment
from resolvers.invoices.sweep import sweep_overdue
from resolvers.planner.ids import encode_id

__all__ = ["issue", "record_payment", "sweep_overdue", "void"]

async def void(session: WriteSession, data: dict[str, Any]) -> Outcome:
    """Void an invoice without payments. It keeps its number (the sequence has no
    gaps), and its order may be invoiced again."""
    checks = Checks()
    pk = checks.global_id(("input", "id"), data.get("id"), "Invoice")
    reason = checks.text(("input", "reason"), data.get("reason"), max_length=500)
    checks.done()
    step = INVOICE["VOID"]
    before = await lock_for(session, "Invoice", "VOID", pk, version=data.get("version"))
    after = await session.update("invoices", pk, {"status": step.targets[0]})
    changed = changes(invoice_api(before), invoice_api(after), ["status"])
    if reason:
        changed["reason"] = {"before": None, "after": reason}
    event = {"invoiceId": encode_id("Invoice", pk), "number": after["number"],
             "orderId": encode_id("Order", after["order_id"])}
    await session.record(step.event, "Invoice", pk, changed, [(step.event, event)])
    return Outcome("Invoice", pk)
