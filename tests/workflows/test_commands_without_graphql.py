"""Business commands are plain functions over typed inputs: a worker, the CLI or a
script calls them inside a unit of work with a principal, with no GraphQL in sight.

Given a service principal of acme acting as admin, a new hire, a new customer, its
placed order, the invoice and a payment are made by calling the commands themselves; a refusal names
the offending field by its domain name and leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import pytest

from app.auth.principal import Principal
from app.db import Database
from app.errors import CommandError
from resolvers.customers.commands import create_customer, transition_customer
from resolvers.customers.inputs import CreateCustomer, TransitionCustomer
from resolvers.employees.commands import hire_employee
from resolvers.employees.inputs import HireEmployee
from resolvers.invoices.commands import issue_invoice, record_payment
from resolvers.invoices.inputs import IssueInvoice, RecordPayment
from resolvers.orders.commands import approve_order, create_order, place_order
from resolvers.orders.inputs import ApproveOrder, CreateOrder, OrderLine, PlaceOrder
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession
from tests.support.workflow import sql

T = TypeVar("T")


@pytest.fixture
async def worker(writes_settings):
    """Runs one command in its own committed transaction, as a background worker would."""
    database = Database(writes_settings)
    (org_id,) = sql(writes_settings.database_url, "SELECT id FROM organizations WHERE slug = 'acme'")[0]
    principal = Principal(org_id=org_id, subject="test-worker", roles=frozenset({"admin"}), kind="service")

    async def run(command: Callable[[WriteSession], Awaitable[T]]) -> T:
        async with database.unit_of_work(org_id) as connection:
            return await command(WriteSession(connection, principal, "test-worker"))

    yield run
    await database.dispose()


def _one(url, query: str, *params):
    (row,) = sql(url, query, *params)
    return row


async def test_hire_place_invoice_and_pay_by_calling_the_commands(worker, writes_settings):
    url = writes_settings.database_url
    email = f"ada.{uuid.uuid4().hex[:8]}@acme.example"
    hired: Outcome = await worker(
        lambda s: hire_employee(
            s,
            HireEmployee(
                first_name="Ada",
                last_name="Worker",
                email=email,
                title="Engineer",
                salary=Decimal("5200.00"),
                hired_on=dt.date(2026, 1, 5),
            ),
        )
    )
    assert hired.type_name == "Employee"
    assert _one(url, "SELECT email, status, salary FROM employees WHERE id = %s", hired.pk) == (
        email,
        "active",
        Decimal("5200.00"),
    )

    lead = await worker(
        lambda s: create_customer(
            s,
            CreateCustomer(
                name="Worker Buyer Ltd",
                kind="company",
                segment="small_business",
                country="DE",
                credit_limit=Decimal("100000.00"),
            ),
        )
    )
    assert lead.pk is not None
    customer = lead.pk
    await worker(lambda s: transition_customer(s, "ACTIVATE", TransitionCustomer(id=customer)))
    product, price = _one(
        url,
        "SELECT p.id, p.unit_price FROM products p JOIN organizations o ON o.id = p.org_id"
        " WHERE o.slug = 'acme' AND p.active AND p.stock_on_hand - p.stock_reserved >= 1 ORDER BY p.id LIMIT 1",
    )
    draft = await worker(lambda s: create_order(s, CreateOrder(customer_id=customer, lines=(OrderLine(product, 1),))))
    assert draft.pk is not None
    await worker(lambda s: place_order(s, PlaceOrder(id=draft.pk)))
    if _one(url, "SELECT status FROM orders WHERE id = %s", draft.pk) == ("placed",):
        await worker(lambda s: approve_order(s, ApproveOrder(id=draft.pk)))
    invoice = await worker(lambda s: issue_invoice(s, IssueInvoice(order_id=draft.pk)))
    total = _one(url, "SELECT total FROM invoices WHERE id = %s", invoice.pk)[0]
    assert total >= price

    payment = await worker(
        lambda s: record_payment(s, RecordPayment(invoice_id=invoice.pk, amount=total, method="card"))
    )
    assert payment.type_name == "Payment"
    assert _one(url, "SELECT status, amount_paid FROM invoices WHERE id = %s", invoice.pk) == ("paid", total)
    events = [
        row[0]
        for row in sql(
            url,
            "SELECT event_type FROM outbox WHERE entity_type = 'Invoice' AND entity_id = %s ORDER BY position",
            invoice.pk,
        )
    ]
    assert events == ["invoice.issued", "invoice.payment_recorded", "invoice.paid"]


async def test_a_refused_command_names_the_domain_field_and_changes_nothing(worker, writes_settings):
    url = writes_settings.database_url
    invoice_id, due = _one(
        url,
        "SELECT i.id, i.total - i.amount_paid FROM invoices i JOIN organizations o ON o.id = i.org_id"
        " WHERE o.slug = 'acme' AND i.status IN ('issued', 'partially_paid') ORDER BY i.id LIMIT 1",
    )
    before = _one(url, "SELECT count(*) FROM payments")[0], _one(url, "SELECT count(*) FROM outbox")[0]
    with pytest.raises(CommandError) as refused:
        await worker(
            lambda s: record_payment(
                s, RecordPayment(invoice_id=invoice_id, amount=due + Decimal("1.00"), method="card")
            )
        )
    assert (refused.value.code, refused.value.field) == ("OVERPAYMENT", ["amount"])
    assert (_one(url, "SELECT count(*) FROM payments")[0], _one(url, "SELECT count(*) FROM outbox")[0]) == before
