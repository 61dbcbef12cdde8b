"""What the email tests do through the API, and what they read back from the database."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
from pypdf import PdfReader

from tests.support.invoicing import ISSUE, PAY, SWEEP
from tests.support.workflow import gid, mutate, pk, sql, token

CREATE_ORDER = """
mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id number } errors { code message } } }"""
PLACE_ORDER = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id number status } errors { code message } }
}"""
CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id version emailOptOuts } errors { code field message } }
}"""
UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { id version emailOptOuts } errors { code field message } }
}"""
ACTIVATE_CUSTOMER = """
mutation($input: CustomerTransitionInput!) { activateCustomer(input: $input) { customer { id } errors { code } } }"""


def org_id(slug: str) -> int:
    return {"acme": 1, "globex": 2}[slug]


async def new_customer(
    client: httpx.AsyncClient, settings: Any, org: str = "acme", *, terms: int = 30, **extra: Any
) -> tuple[int, str]:
    """An active customer with an email of its own, with a generous credit limit; (pk, email)."""
    address = f"buyer.{uuid.uuid4().hex[:10]}@customers.example.com"
    admin = token(settings, "admin", org)
    created = await mutate(
        client,
        CREATE_CUSTOMER,
        {
            "input": {
                "name": f"Mail test {address[6:12]} GmbH",
                "kind": "COMPANY",
                "segment": "SMALL_BUSINESS",
                "country": "DE",
                "email": address,
                "creditLimit": "1000000.00",
                "paymentTermsDays": terms,
                "billingAddress": {"street": "Ringstraße 5", "city": "Köln", "postalCode": "50667"},
                **extra,
            }
        },
        admin,
    )
    assert created["errors"] == [], created
    activated = await mutate(client, ACTIVATE_CUSTOMER, {"input": {"id": created["customer"]["id"]}}, admin)
    assert activated["errors"] == [], activated
    return pk(created["customer"]["id"], "Customer"), address


async def place_order(
    client: httpx.AsyncClient, settings: Any, customer: int, org: str = "acme", lines: int = 2
) -> dict[str, Any]:
    """An order of ``lines`` products in stock for the customer, created and placed by the admin."""
    products = sql(
        settings.database_url,
        "SELECT id FROM products WHERE org_id = %s AND active AND stock_on_hand - stock_reserved > 5"
        " ORDER BY unit_price, id LIMIT %s",
        org_id(org),
        lines,
    )
    admin = token(settings, "admin", org)
    order_lines = [{"productId": gid("Product", p), "quantity": n} for n, (p,) in enumerate(products, 1)]
    created = await mutate(
        client, CREATE_ORDER, {"input": {"customerId": gid("Customer", customer), "lines": order_lines}}, admin
    )
    assert created["errors"] == [], created
    placed = await mutate(client, PLACE_ORDER, {"input": {"id": created["order"]["id"]}}, admin)
    assert placed["errors"] == [], placed
    return placed["order"]


async def issue_invoice(client: httpx.AsyncClient, settings: Any, order_gid: str, org: str = "acme") -> dict:
    payload = await mutate(client, ISSUE, {"input": {"orderId": order_gid}}, token(settings, "finance", org))
    assert payload["errors"] == [], payload
    return payload["invoice"]


async def record_payment(client: httpx.AsyncClient, settings: Any, invoice_gid: str, amount: str) -> dict:
    variables = {"input": {"invoiceId": invoice_gid, "amount": amount, "method": "BANK_TRANSFER", "reference": "R-1"}}
    payload = await mutate(client, PAY, variables, token(settings, "finance"))
    assert payload["errors"] == [], payload
    return payload["payment"]


async def sweep(client: httpx.AsyncClient, settings: Any, org: str = "acme") -> int:
    payload = await mutate(client, SWEEP, {"input": {}}, token(settings, "finance", org))
    assert payload["errors"] == [], payload
    return int(payload["markedOverdue"])


def deliveries(settings: Any, entity_type: str, entity_pk: int) -> list[tuple]:
    """(kind, recipient, status, attempts, reason) of every email about the entity."""
    return sql(
        settings.database_url,
        "SELECT kind, recipient, status, attempts, reason FROM email_deliveries"
        " WHERE entity_type = %s AND entity_id = %s ORDER BY id",
        entity_type,
        entity_pk,
    )


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def money(value: Any, currency: str) -> str:
    """As documents print it: 1,234.50 EUR."""
    from decimal import Decimal

    return f"{Decimal(value):,.2f} {currency}"


def invoice_facts(settings: Any, invoice_pk: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The invoice row (with its organization's currency) and its snapshot lines, from the database."""
    ((number, subtotal, tax, total, paid, currency),) = sql(
        settings.database_url,
        "SELECT i.number, i.subtotal, i.tax, i.total, i.amount_paid, o.currency"
        " FROM invoices i JOIN organizations o ON o.id = i.org_id WHERE i.id = %s",
        invoice_pk,
    )
    lines = sql(
        settings.database_url,
        "SELECT sku, quantity, unit_price, line_total FROM invoice_lines WHERE invoice_id = %s ORDER BY line_no",
        invoice_pk,
    )
    invoice = {"number": number, "subtotal": subtotal, "tax": tax, "total": total, "paid": paid, "currency": currency}
    return invoice, [{"sku": s, "quantity": q, "unit_price": u, "line_total": t} for s, q, u, t in lines]


def assert_pdf_matches(text: str, settings: Any, invoice_pk: int) -> None:
    """The PDF's text shows the invoice's number, totals and every line, as the database has them."""
    invoice, lines = invoice_facts(settings, invoice_pk)
    currency = invoice["currency"]
    assert invoice["number"] in text
    for label, key in (("Subtotal", "subtotal"), ("Tax", "tax"), ("Total", "total"), ("Amount paid", "paid")):
        assert f"{label} {money(invoice[key], currency)}" in text, (label, text)
    assert f"Amount due {money(invoice['total'] - invoice['paid'], currency)}" in text
    assert lines
    for n, line in enumerate(lines, 1):
        row = f"{n} {line['sku']}"
        assert row in text, (row, text)
        assert f"{line['unit_price']:,.2f}" in text
        assert f"{line['line_total']:,.2f}" in text


def execute(settings: Any, statement: str, *params: Any) -> None:
    """A statement without a result, as the database's owner (past row-level security)."""
    import psycopg

    from tests.support.db import conninfo

    with psycopg.connect(conninfo(settings.database_url)) as conn:
        conn.execute(statement, params)
