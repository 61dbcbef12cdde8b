"""Recording a payment against an invoice, partial or in full."""

from __future__ import annotations

from typing import Any

from app.errors import CommandError
from app.workflows import INVOICE
from resolvers.writes.checks import Checks
from resolvers.writes.idempotency import claim, remember
from resolvers.writes.lifecycle import lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Entry, Row, WriteSession, changes
from resolvers.invoices.common import check_moment, invoice_api
from resolvers.planner.ids import encode_id

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


async def record_payment(session: WriteSession, data: dict[str, Any]) -> Outcome:
    step = INVOICE["RECORD_PAYMENT"]
    require_role(session, step.roles, "record payments")
    checks = Checks()
    pk = checks.global_id(("input", "invoiceId"), data.get("invoiceId"), "Invoice")
    amount = checks.money(("input", "amount"), data.get("amount"), positive=True, required=True)
    paid_at = check_moment(checks, ("input", "paidAt"), data.get("paidAt"))
    reference = checks.text(("input", "reference"), data.get("reference"), max_length=64)
    method = data.get("method")
    key = data.get("idempotencyKey")
    checks.done()
    if key is not None:
        request = {"invoiceId": pk, "amount": amount, "method": method, "paidAt": paid_at, "reference": reference}
        replay = await claim(session, key, "recordPayment", request)
        if replay is not None:
            return Outcome(replay.entity_type, replay.entity_id)
    before = await lock_for(session, "Invoice", "RECORD_PAYMENT", pk, id_path=("input", "invoiceId"))
    due = before["total"] - before["amount_paid"]
    if amount > due:
        raise CommandError("OVERPAYMENT", f"the payment is more than the amount due ({due})", field=["input", "amount"])
    status = _status_after(before, before["amount_paid"] + amount)
    payment = await session.row(
        _INSERT_PAYMENT,
        {"invoice": pk, "amount": amount, "method": method, "paid_at": paid_at, "reference": reference, "key": key},
    )
    after = await session.row(_SETTLE, {"invoice": pk, "amount": amount, "status": status})
    assert payment is not None and after is not None
    invoice_id = encode_id("Invoice", pk)
    amount_due = after["total"] - after["amount_paid"]
    events = [
        (step.event, {"invoiceId": invoice_id, "paymentId": encode_id("Payment", payment["id"]),
                      "amount": amount, "amountDue": amount_due})
    ]
    if status == "paid":
        events.append(("invoice.paid", {"invoiceId": invoice_id, "number": after["number"], "total": after["total"]}))
    # One audit row per changed entity, the new payment and the invoice it settles, in one statement.
    await session.record_all(
        [
            Entry("payment.recorded", "Payment", payment["id"], changes(None, _payment_api(payment))),
            Entry(step.event, "Invoice", pk, changes(invoice_api(before), invoice_api(after), ["amountPaid", "status"]),
                  events),
        ]
    )
    if key is not None:
        await remember(session, key, "Payment", payment["id"])
    return Outcome("Payment", payment["id"])
