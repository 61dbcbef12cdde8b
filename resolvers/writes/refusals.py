"""Database refusals as user errors.

The services check their rules before writing, so these are the races and the
rules only the database sees (a unique value taken a moment ago, a row another
transaction deleted). Each becomes a user error with a stable code; the
message names the rule, never SQL or a stack.
"""

from __future__ import annotations

import psycopg.errors as pg

from app.errors import CommandError

# Constraint name → (code, field path, message). Names follow the models'
# naming convention (app/models/base.py).
CONSTRAINTS: dict[str, tuple[str, list[str] | None, str]] = {
    "uq_products_org_id_sku": ("DUPLICATE", ["sku"], "another product has this SKU"),
    "uq_employees_org_id_email": ("DUPLICATE", ["email"], "another employee has this email"),
    "uq_employees_org_id_number": ("DUPLICATE", None, "another employee has this number"),
    "ck_employees_not_own_manager": ("MANAGEMENT_CYCLE", ["manager_id"], "an employee cannot manage themselves"),
    "ck_employees_ends_after_hire": ("INVALID", ["ended_on"], "the employment cannot end before it starts"),
    "uq_customers_org_id_number": ("DUPLICATE", None, "another customer has this number"),
    "uq_orders_org_id_number": ("DUPLICATE", None, "another order has this number"),
    "ck_products_stock_not_negative": ("INSUFFICIENT_STOCK", None, "stock on hand would become negative"),
    "ck_products_reserved_within_stock": ("INSUFFICIENT_STOCK", None, "not enough stock on hand"),
    "ck_order_lines_discount_within_gross": ("INVALID", None, "a discount is more than its line's gross amount"),
    "ck_invoices_paid_within_total": ("OVERPAYMENT", ["amount"], "the payment is more than the amount due"),
    "ix_invoices_order_id": ("INVALID_TRANSITION", None, "the order already has an invoice"),
    "ix_payments_org_id_idempotency_key": (
        "IDEMPOTENCY_KEY_REUSED",
        ["idempotency_key"],
        "this idempotency key was used before",
    ),
}


def refusal(error: BaseException) -> CommandError | None:
    """The user error for a database refusal, or None if it is not one (a bug, an outage)."""
    if isinstance(error, pg.IntegrityError):
        name = getattr(error.diag, "constraint_name", None) or ""
        if name in CONSTRAINTS:
            code, field, message = CONSTRAINTS[name]
            return CommandError(code, message, field=field)
        if isinstance(error, pg.ForeignKeyViolation):
            if "is still referenced" in (error.diag.message_detail or ""):
                return CommandError("IN_USE", "other records still refer to this entity")
            return CommandError("NOT_FOUND", "a referenced entity does not exist (any more)")
        return CommandError("CONSTRAINT_VIOLATION", f"the change breaks the rule {name or 'of the data model'}")
    if isinstance(error, pg.NumericValueOutOfRange):
        return CommandError("INVALID", "a number is out of range")
    if isinstance(error, pg.StringDataRightTruncation):
        return CommandError("TOO_LONG", "a text is longer than its field allows")
    return None


def worth_retrying(error: BaseException) -> bool:
    """Conflicts between concurrent transactions: running the command again resolves them."""
    return isinstance(error, (pg.DeadlockDetected, pg.SerializationFailure, pg.LockNotAvailable))
