"""Helpers for the invoice and payment tests: orders made directly in the
database (the order mutations are another module's business), and the
documents the tests send."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg

from tests.support.db import conninfo
from tests.support.workflow import gid, mutate, pk, sql, token

CENT = Decimal("0.01")
_serial = itertools.count(1)

ISSUE = """
mutation($input: IssueInvoiceInput!) {
  issueInvoice(input: $input) {
    invoice { id number status issuedAt dueAt subtotal tax total amountPaid amountDue version availableTransitions
              order { id } customer { id } }
    errors { code field message }
  }
}"""
PAY = """
mutation($input: RecordPaymentInput!) {
  recordPayment(input: $input) {
    payment { id amount method paidAt reference invoice { id status amountPaid amountDue version } }
    errors { code field message }
  }
}"""
VOID = """
mutation($input: VoidInvoiceInput!) {
  voidInvoice(input: $input) { invoice { id number status version availableTransitions } errors { code field message } }
}"""
SWEEP = """
mutation($input: SweepOverdueInvoicesInput!) {
  sweepOverdueInvoices(input: $input) { markedOverdue errors { code field message } }
}"""
CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } errors { code message } } }"""
ACTIVATE_CUSTOMER = """
mutation($input: CustomerTransitionInput!) { activateCustomer(input: $input) { customer { id } errors { code } } }"""

ORG_IDS = {"acme": 1, "globex": 2}


def make_order(
    url: Any, org: str = "acme", *, status: str = "approved", lines: int = 2, customer_id: int | None = None
) -> int:
    """An order with ``lines`` lines and totals that add up, as the order service
    would leave it in ``status``. Its number sorts before the seed's ("SO-…") and
    ends in a letter, so no "next number after the highest" query ever sees it."""
    org_id = ORG_IDS[org]
    now = datetime.now(UTC)
    with psycopg.connect(conninfo(url)) as conn:
        if customer_id is None:
            customer_id = conn.execute(
                "SELECT id FROM customers WHERE org_id = %s AND status = 'active' ORDER BY id LIMIT 1", (org_id,)
            ).fetchone()[0]
        rep = conn.execute("SELECT account_manager_id FROM customers WHERE id = %s", (customer_id,)).fetchone()[0]
        products = conn.execute(
            "SELECT id, unit_price, tax_rate FROM products WHERE org_id = %s AND active AND unit_price > 1"
            " ORDER BY id LIMIT %s",
            (org_id, lines),
        ).fetchall()
        assert len(products) == lines
        rows, subtotal, tax = [], Decimal("0.00"), Decimal("0.00")
        for n, (product_id, price, rate) in enumerate(products, 1):
            quantity = n
            discount = Decimal("1.00") if n == 1 else Decimal("0.00")  # one discounted line
            line_total = quantity * price - discount
            rows.append((n, product_id, quantity, price, discount, rate, line_total))
            subtotal += line_total
            tax += (line_total * rate).quantize(CENT, ROUND_HALF_UP)
        placed = None if status == "draft" else now - timedelta(days=2)
        approved = now - timedelta(days=1) if status in ("approved", "fulfilled") else None
        fulfilled = now - timedelta(hours=1) if status == "fulfilled" else None
        cancelled = now - timedelta(hours=1) if status == "cancelled" else None
        number = f"IT-{uuid.uuid4().hex[:12]}-{next(_serial)}x"
        order_id = conn.execute(
            "INSERT INTO orders (org_id, number, customer_id, sales_rep_id, status, placed_at, approved_at,"
            " fulfilled_at, cancelled_at, subtotal, tax, total) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id",
            (
                org_id,
                number,
                customer_id,
                rep,
                status,
                placed,
                approved,
                fulfilled,
                cancelled,
                subtotal,
                tax,
                subtotal + tax,
            ),
        ).fetchone()[0]
        conn.cursor().executemany(
            "INSERT INTO order_lines (org_id, order_id, line_no, product_id, quantity, unit_price, discount, tax_rate,"
            " line_total) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(org_id, order_id, *row) for row in rows],
        )
    return order_id


async def prompt_payer(client: Any, settings: Any, org: str = "acme") -> int:
    """A new active customer with payment terms of 0 days: its invoices are due
    the moment they are issued, so the sweep finds them past due right away."""
    admin = token(settings, "admin", org)
    created = await mutate(
        client,
        CREATE_CUSTOMER,
        {
            "input": {
                "name": f"Prompt payer {uuid.uuid4().hex[:6]}",
                "kind": "COMPANY",
                "segment": "SMALL_BUSINESS",
                "country": "DE",
                "paymentTermsDays": 0,
            }
        },
        admin,
    )
    assert created["errors"] == [], created
    await mutate(client, ACTIVATE_CUSTOMER, {"input": {"id": created["customer"]["id"]}}, admin)
    return pk(created["customer"]["id"], "Customer")


async def issue(
    client: Any, settings: Any, order_id: int, org: str = "acme", role: str = "finance", **extra: Any
) -> dict[str, Any]:
    payload = await mutate(
        client, ISSUE, {"input": {"orderId": gid("Order", order_id), **extra}}, token(settings, role, org)
    )
    assert payload["errors"] == [], payload["errors"]
    return payload["invoice"]


async def pay(
    client: Any, settings: Any, invoice_gid: str, amount: str, role: str = "finance", org: str = "acme", **extra: Any
) -> dict[str, Any]:
    variables = {"input": {"invoiceId": invoice_gid, "amount": amount, "method": "BANK_TRANSFER", **extra}}
    return await mutate(client, PAY, variables, token(settings, role, org))


def footprint(url: Any) -> tuple[int, ...]:
    """Row counts a refused mutation must leave as they were."""
    (counts,) = sql(
        url,
        "SELECT (SELECT count(*) FROM invoices), (SELECT count(*) FROM invoice_lines), (SELECT count(*) FROM payments),"
        " (SELECT count(*) FROM audit_log), (SELECT count(*) FROM outbox), (SELECT count(*) FROM idempotency_keys),"
        " (SELECT coalesce(sum(version), 0) FROM invoices)",
    )
    return counts
