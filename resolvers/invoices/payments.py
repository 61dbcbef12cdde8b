"""Recording a payment against an invoice, partial or in full."""

from __future__ import annotations

from typing import Any

from app.errors import CommandError
from app.events.invoices import INVOICE_PAID, PAYMENT_RECORDED, InvoicePaidPayload, PaymentRecordedPayload
from app.workflows import INVOICE
from resolvers.invoices.common import check_moment, invoice_api
from resolvers.invoices.inputs import RecordPayment
from resolvers.planner.ids import encode_id
from resolvers.writes.checks import Checks
from resolvers.writes.idempotency import claim, remember
from resolvers.writes.lifecycle import lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Entry, Row, WriteSession, changes

_INSERT_PAYMENT = """
INSERT INTO payments (org_id, invoice_id, amount, method, paid_at, reference, idempotency_key)
VALUES (%(org)s, %(invoice)s, %(amount)s, %(method)s, COALESCE(%(paid_at)s::timestamptz, now()), %(reference)s, %(key)s)
RETURNING *
"""
_SETTLE = """
UPDATE invoices SET amount_paid = amount_paid + %(amount)s, status = %(status)s, version = version + 1,
                    updated_at = now()
WHERE id = %(invoice)s
RETURNING *
"""


def _payment_api(row: Row) -> dict[str, Any]:
    return {
        "amount": row["amount"],
        "method": row["method"],
        "paidAt": row["paid_at"],
        "reference": row["reference"],
        "invoiceId": row["invoice_id"],
    }


def _status_after(invoice: Row, paid: Any) -> str:
    """Paid once nothing is due; until then an overdue invoice stays overdue."""
    if paid == invoice["total"]:
        return "paid"
    return "overdue" if invoice["status"] == "overdue" else "partially_paid"


async def record_payment(session: WriteSession, command: RecordPayment) -> Outcome:
    step = INVOICE["RECORD_PAYMENT"]
    require_role(session, step.roles, "record payments")
    checks = Checks()
    amount = checks.money(("amount",), command.amount, positive=True, required=True)
    paid_at = check_moment(checks, ("paid_at",), command.paid_at)
    reference = checks.text(("reference",), command.reference, max_length=64)
    checks.done()
    assert amount is not None
    pk, method, key = command.invoice_id, command.method, command.idempotency_key
    if key is not None:
        request = {"invoiceId": pk, "amount": amount, "method": method, "paidAt": paid_at, "reference": reference}
        replay = await claim(session, key, "recordPayment", request)
        if replay is not None:
            return Outcome(replay.entity_type, replay.entity_id)
    before = await lock_for(session, "Invoice", "RECORD_PAYMENT", pk, id_path=("invoice_id",))
    due = before["total"] - before["amount_paid"]
    if amount > due:
        raise CommandError("OVERPAYMENT", f"the payment is more than the amount due ({due})", field=["amount"])
    status = _status_after(before, before["amount_paid"] + amount)
    payment = await session.row(
        _INSERT_PAYMENT,
        {"invoice": pk, "amount": amount, "method": method, "paid_at": paid_at, "reference": reference, "key": key},
    )
    after = await session.row(_SETTLE, {"invoice": pk, "amount": amount, "status": status})
    assert payment is not None and after is not None
    invoice_id = encode_id("Invoice", pk)
    recorded = PaymentRecordedPayload(
        invoiceId=invoice_id,
        paymentId=encode_id("Payment", payment["id"]),
        amount=amount,
        amountDue=after["total"] - after["amount_paid"],
    )
    events = [PAYMENT_RECORDED.announce(recorded)]
    if status == "paid":
        paid = InvoicePaidPayload(invoiceId=invoice_id, number=after["number"], total=after["total"])
        events.append(INVOICE_PAID.announce(paid))
    # One audit row per changed entity, the new payment and the invoice it settles, in one statement.
    await session.record_all(
        [
            Entry("payment.recorded", "Payment", payment["id"], changes(None, _payment_api(payment))),
            Entry(
                step.event or PAYMENT_RECORDED.name,
                "Invoice",
                pk,
                changes(invoice_api(before), invoice_api(after), ["amountPaid", "status"]),
                events,
            ),
        ]
    )
    if key is not None:
        await remember(session, key, "Payment", payment["id"])
    return Outcome("Payment", payment["id"])
