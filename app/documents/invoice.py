"""An issued invoice as its document shows it, read from the invoice's snapshot.

Everything comes from the invoice row and its lines, which never change once
issued (alembic 0005): the lines' SKU, description, price and tax rate are the
snapshot taken at issue, not today's product. The parties' names and addresses
are read as they are now (an invoice names the seller and buyer; neither is
copied at issue). Money stays ``Decimal`` from the NUMERIC columns to the page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

# Row-level security confines the statement to the transaction's organization; the
# explicit org_id keeps it right on a connection that bypasses it (the owner's).
_HEADER = """
SELECT i.id, i.org_id, i.number, i.status, i.issued_at, i.due_at, i.subtotal, i.tax, i.total, i.amount_paid,
       o.name AS org_name, o.currency, o.time_zone, o.postal_address AS org_address, o.tax_id AS org_tax_id,
       o.brand_color, coalesce(o.brand_logo_text, o.name) AS brand_logo_text,
       c.number AS customer_number, c.name AS customer_name, c.email AS customer_email,
       c.billing_street, c.billing_city, c.billing_postal_code, c.country, c.tax_id AS customer_tax_id,
       d.number AS order_number
FROM invoices i
JOIN organizations o ON o.id = i.org_id
JOIN customers c ON c.id = i.customer_id
JOIN orders d ON d.id = i.order_id
WHERE i.id = %(invoice)s AND i.org_id = %(org)s AND i.status <> 'draft'
"""

_LINES = """
SELECT line_no, sku, description, quantity, unit_price, discount, tax_rate, line_total
FROM invoice_lines WHERE invoice_id = %(invoice)s AND org_id = %(org)s ORDER BY line_no
"""


@dataclass(frozen=True)
class Party:
    """Who sells or buys: a name, the address lines, a tax number."""

    name: str
    address: tuple[str, ...]
    tax_id: str | None


@dataclass(frozen=True)
class InvoiceLineItem:
    line_no: int
    sku: str
    description: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal  # a fraction: 0.2000 is 20 %
    line_total: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    id: int
    org_id: int
    number: str
    status: str
    order_number: str
    issued_on: dt.date  # in the organization's time zone
    due_on: dt.date | None
    currency: str
    seller: Party
    buyer: Party
    buyer_email: str | None
    brand_color: str
    brand_logo_text: str
    lines: tuple[InvoiceLineItem, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    amount_paid: Decimal

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.amount_paid


async def load_invoice_document(connection: AsyncConnection, org_id: int, invoice_id: int) -> InvoiceDocument | None:
    """The document of an issued invoice of ``org_id``; None for a draft or no such invoice."""
    params = {"invoice": invoice_id, "org": org_id}
    header = (await connection.exec_driver_sql(_HEADER, params)).mappings().first()
    if header is None:
        return None
    lines = (await connection.exec_driver_sql(_LINES, params)).mappings().all()
    return _document(header, lines)


def _document(row: Any, lines: Any) -> InvoiceDocument:
    zone = ZoneInfo(row["time_zone"])
    buyer_address = tuple(
        part
        for part in (
            row["billing_street"],
            " ".join(p for p in (row["billing_postal_code"], row["billing_city"]) if p),
            row["country"],
        )
        if part
    )
    seller_address = tuple(line.strip() for line in (row["org_address"] or "").splitlines() if line.strip())
    return InvoiceDocument(
        id=row["id"],
        org_id=row["org_id"],
        number=row["number"],
        status=row["status"],
        order_number=row["order_number"],
        issued_on=row["issued_at"].astimezone(zone).date(),
        due_on=row["due_at"].astimezone(zone).date() if row["due_at"] is not None else None,
        currency=row["currency"],
        seller=Party(row["org_name"], seller_address, row["org_tax_id"]),
        buyer=Party(row["customer_name"], buyer_address, row["customer_tax_id"]),
        buyer_email=row["customer_email"],
        brand_color=row["brand_color"],
        brand_logo_text=row["brand_logo_text"],
        lines=tuple(
            InvoiceLineItem(
                line_no=line["line_no"],
                sku=line["sku"],
                description=line["description"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                discount=line["discount"],
                tax_rate=line["tax_rate"],
                line_total=line["line_total"],
            )
            for line in lines
        ),
        subtotal=row["subtotal"],
        tax=row["tax"],
        total=row["total"],
        amount_paid=row["amount_paid"],
    )
