"""Which event sends which email to whom.

Each kind names the event that triggers it and how its recipient is found from
the event's entity, as SQL over the outbox row ``e``: ``r`` is the recipient's
row, with an ``email`` column; for customers also the kinds they opted out of.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmailKind:
    name: str
    event: str
    # Joins from the outbox row ``e`` to the recipient row ``r``.
    recipient: str
    # Whether ``r`` is a customer, who may opt out of the kind (customers.email_opt_outs).
    customer: bool


_ORDER_CUSTOMER = "JOIN orders x ON x.id = e.entity_id JOIN customers r ON r.id = x.customer_id"
_INVOICE_CUSTOMER = "JOIN invoices x ON x.id = e.entity_id JOIN customers r ON r.id = x.customer_id"
# A manager of an employee who is still employed gets the news about their report.
_MANAGER = (
    "JOIN employees x ON x.id = e.entity_id"
    " JOIN employees r ON r.id = x.manager_id AND r.status IN ('onboarding', 'active', 'on_leave')"
)

KINDS: tuple[EmailKind, ...] = (
    EmailKind("order_confirmation", "order.placed", _ORDER_CUSTOMER, customer=True),
    EmailKind("invoice_issued", "invoice.issued", _INVOICE_CUSTOMER, customer=True),
    EmailKind("payment_receipt", "invoice.payment_recorded", _INVOICE_CUSTOMER, customer=True),
    EmailKind("overdue_reminder", "invoice.overdue", _INVOICE_CUSTOMER, customer=True),
    EmailKind("employee_hired", "employee.hired", _MANAGER, customer=False),
    EmailKind("employee_leave", "employee.leave_started", _MANAGER, customer=False),
)

BY_NAME = {kind.name: kind for kind in KINDS}
EVENT_TYPES = tuple(sorted({kind.event for kind in KINDS}))
