"""The declared states of every entity with a lifecycle, shared by the database
CHECK constraints and the API enums so the two can never disagree."""

from __future__ import annotations

EMPLOYEE_STATUSES = ("onboarding", "active", "on_leave", "terminated", "retired")
EMPLOYMENT_EVENT_KINDS = (
    "hired",
    "transferred",
    "promoted",
    "salary_changed",
    "leave_started",
    "leave_ended",
    "terminated",
    "retired",
)
CUSTOMER_STATUSES = ("lead", "active", "inactive")
CUSTOMER_KINDS = ("company", "individual")
CUSTOMER_SEGMENTS = ("enterprise", "mid_market", "small_business", "consumer")
ORDER_STATUSES = ("draft", "placed", "approved", "fulfilled", "cancelled")
INVOICE_STATUSES = ("draft", "issued", "partially_paid", "paid", "overdue", "void")
PAYMENT_METHODS = ("bank_transfer", "card", "cash", "check")
USER_ROLES = ("admin", "finance", "sales", "hr", "manager", "employee", "analyst", "customer")

# Customer emails (app/notifications): the kinds a customer may opt out of, then the
# ones sent to staff; and where a delivery stands.
CUSTOMER_EMAIL_KINDS = ("order_confirmation", "invoice_issued", "payment_receipt", "overdue_reminder")
EMAIL_KINDS = (*CUSTOMER_EMAIL_KINDS, "employee_hired", "employee_leave")
EMAIL_DELIVERY_STATUSES = ("pending", "sent", "failed", "skipped")
EMAIL_ATTEMPT_OUTCOMES = ("sent", "refused", "error")
