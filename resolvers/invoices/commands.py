"""Invoice commands: issue an order's invoice, record payments, void, and the
overdue sweep. Each lives in its own module; voiding is small enough to live here."""

from __future__ import annotations

from app.events.invoices import INVOICE_VOIDED, InvoiceVoidedPayload
from app.workflows import INVOICE
from resolvers.invoices.common import invoice_api
from resolvers.invoices.inputs import VoidInvoice
from resolvers.invoices.issuing import issue_invoice
from resolvers.invoices.payments import record_payment
from resolvers.invoices.sweep import sweep_overdue_invoices
from resolvers.planner.ids import encode_id
from resolvers.writes.checks import Checks
from resolvers.writes.lifecycle import lock_for
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession, changes

__all__ = ["issue_invoice", "record_payment", "sweep_overdue_invoices", "void_invoice"]


async def void_invoice(session: WriteSession, command: VoidInvoice) -> Outcome:
    """Void an invoice without payments. It keeps its number (the sequence has no
    gaps), and its order may be invoiced again."""
    checks = Checks()
    reason = checks.text(("reason",), command.reason, max_length=500)
    checks.done()
    pk = command.id
    step = INVOICE["VOID"]
    before = await lock_for(session, "Invoice", "VOID", pk, version=command.version)
    after = await session.update("invoices", pk, {"status": step.targets[0]})
    changed = changes(invoice_api(before), invoice_api(after), ["status"])
    if reason:
        changed["reason"] = {"before": None, "after": reason}
    voided = InvoiceVoidedPayload(
        invoiceId=encode_id("Invoice", pk), number=after["number"], orderId=encode_id("Order", after["order_id"])
    )
    await session.record(INVOICE_VOIDED.name, "Invoice", pk, changed, [INVOICE_VOIDED.announce(voided)])
    return Outcome("Invoice", pk)
