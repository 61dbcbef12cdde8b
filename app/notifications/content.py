"""What each email says, read when it is sent, in the delivery's organization.

``load_content`` returns the template context of a delivery (and, for an issued
invoice, the invoice's document to attach), or None when the entity is gone.
Amounts are ``Decimal`` from the NUMERIC columns; dates are in the
organization's time zone.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from app.documents import InvoiceDocument, load_invoice_document

_ORGANIZATION = """
SELECT name, currency, time_zone, coalesce(email_sender_name, name) AS sender_name, email_from,
       brand_color, coalesce(brand_logo_text, name) AS logo_text, postal_address
FROM organizations WHERE id = %(org)s
"""
_ORDER = """
SELECT o.number, o.status, o.placed_at, o.subtotal, o.tax, o.total, c.name AS customer_name
FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = %(entity)s AND o.org_id = %(org)s
"""
_ORDER_LINES = """
SELECT l.line_no, p.sku, p.name AS description, l.quantity, l.unit_price, l.discount, l.line_total
FROM order_lines l JOIN products p ON p.id = l.product_id WHERE l.order_id = %(entity)s ORDER BY l.line_no, l.id
"""
_PAYMENT = """
SELECT p.amount, p.method, p.paid_at, p.reference, i.number AS invoice_number, i.total,
       c.name AS customer_name
FROM payments p JOIN invoices i ON i.id = p.invoice_id JOIN customers c ON c.id = i.customer_id
WHERE p.id = %(payment)s AND p.invoice_id = %(entity)s AND p.org_id = %(org)s
"""
_INVOICE = """
SELECT i.number, i.due_at, i.total, i.amount_paid, c.name AS customer_name
FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE i.id = %(entity)s AND i.org_id = %(org)s
"""
_EMPLOYEE = """
SELECT e.first_name || ' ' || e.last_name AS name, e.number, e.title, e.hired_on,
       m.first_name || ' ' || m.last_name AS manager_name, d.name AS department
FROM employees e JOIN employees m ON m.id = e.manager_id LEFT JOIN departments d ON d.id = e.department_id
WHERE e.id = %(entity)s AND e.org_id = %(org)s
"""


@dataclass(frozen=True)
class Brand:
    """The organization as its emails present it."""

    name: str
    sender_name: str
    email_from: str | None
    color: str
    logo_text: str
    postal_address: str | None
    currency: str
    time_zone: ZoneInfo


@dataclass(frozen=True)
class Content:
    brand: Brand
    context: dict[str, Any]
    invoice: InvoiceDocument | None = field(default=None)


async def load_brand(connection: AsyncConnection, org_id: int) -> Brand:
    row = (await connection.exec_driver_sql(_ORGANIZATION, {"org": org_id})).mappings().one()
    return Brand(
        name=row["name"],
        sender_name=row["sender_name"],
        email_from=row["email_from"],
        color=row["brand_color"],
        logo_text=row["logo_text"],
        postal_address=row["postal_address"],
        currency=row["currency"],
        time_zone=ZoneInfo(row["time_zone"]),
    )


async def load_content(
    connection: AsyncConnection, org_id: int, kind: str, entity_id: int, payload: dict[str, Any]
) -> Content | None:
    brand = await load_brand(connection, org_id)
    params = {"org": org_id, "entity": entity_id}

    async def one(sql: str, extra: dict[str, Any] | None = None) -> Any:
        return (await connection.exec_driver_sql(sql, {**params, **(extra or {})})).mappings().first()

    def day(moment: dt.datetime | None) -> dt.date | None:
        return moment.astimezone(brand.time_zone).date() if moment is not None else None

    context: dict[str, Any] = {"currency": brand.currency}
    invoice: InvoiceDocument | None = None
    if kind == "order_confirmation":
        order = await one(_ORDER)
        if order is None:
            return None
        lines = (await connection.exec_driver_sql(_ORDER_LINES, params)).mappings().all()
        context |= {"order": dict(order), "placed_on": day(order["placed_at"]), "lines": [dict(x) for x in lines]}
    elif kind == "invoice_issued":
        invoice = await load_invoice_document(connection, org_id, entity_id)
        if invoice is None:
            return None
        context |= {"invoice": invoice}
    elif kind == "payment_receipt":
        payment = await one(_PAYMENT, {"payment": _pk(payload["paymentId"])})
        if payment is None:
            return None
        context |= {
            "payment": dict(payment),
            "paid_on": day(payment["paid_at"]),
            "amount_due": _decimal(payload["amountDue"]),
        }
    elif kind == "overdue_reminder":
        row = await one(_INVOICE)
        if row is None:
            return None
        context |= {"invoice": dict(row), "due_on": day(row["due_at"]), "amount_due": _decimal(payload["amountDue"])}
    elif kind in ("employee_hired", "employee_leave"):
        employee = await one(_EMPLOYEE)
        if employee is None:
            return None
        context |= {"employee": dict(employee)}
    else:
        raise ValueError(f"no content for the email kind {kind!r}")
    return Content(brand, context, invoice)


def _pk(global_id: str) -> int:
    """The primary key of a global ID the event carries (``base64("Type:pk")``)."""
    return int(base64.b64decode(global_id).decode().partition(":")[2])


def _decimal(value: Any) -> Decimal:
    """Outbox payloads store money as decimal strings (app/events)."""
    return Decimal(str(value))
