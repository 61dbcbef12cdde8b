"""Issuing and voiding invoices over HTTP with real tokens: gapless numbers per
organization and year (under concurrency and after a rollback), the line snapshot,
due dates from payment terms, idempotency, roles, other organizations, the audit
trail and events, and the database refusing changes to an issued invoice."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
import pytest

from app.auth.principal import Principal
from app.errors import CommandError
from resolvers.invoices.commands import issue_invoice
from resolvers.invoices.inputs import IssueInvoice
from resolvers.planner.pagination import PageLimits
from resolvers.writes.runner import CommandService
from tests.support.db import conninfo
from tests.support.graphql import count_statements
from tests.support.invoicing import ISSUE, VOID, footprint, issue, make_order, pay
from tests.support.workflow import codes, count, gid, mutate, sql, token
from tests.support.workflow import pk as pk_of


def _last_seq(url, org_id: int, year: int) -> int:
    return sql(url, "SELECT coalesce(max(seq), 0) FROM invoices WHERE org_id = %s AND year = %s", org_id, year)[0][0]


def _this_year(url, org_id: int) -> int:
    return sql(
        url, "SELECT extract(year FROM now() AT TIME ZONE time_zone)::int FROM organizations WHERE id = %s", org_id
    )[0][0]


@pytest.mark.parametrize("status", ["approved", "fulfilled"])
async def test_issuing_numbers_the_invoice_after_the_seeds_and_snapshots_the_order(
    writes_client, writes_settings, status
):
    url = writes_settings.database_url
    order_id = make_order(url, status=status, lines=3)
    year = _this_year(url, 1)
    last = _last_seq(url, 1, year)
    assert last > 0  # the seed numbered this year's invoices already: the sequence continues theirs
    invoice = await issue(writes_client, writes_settings, order_id)
    assert invoice["number"] == f"INV-{year}-{last + 1:06d}"
    assert invoice["status"] == "ISSUED" and invoice["version"] == 1
    assert invoice["availableTransitions"] == ["RECORD_PAYMENT", "VOID"]
    assert invoice["order"] == {"id": gid("Order", order_id)}
    pk = pk_of(invoice["id"])
    (row,) = sql(
        url,
        "SELECT i.year, i.seq, i.subtotal, i.tax, i.total, i.amount_paid, i.customer_id, i.issued_at, i.due_at,"
        " c.payment_terms_days, o.subtotal, o.tax, o.total, o.customer_id"
        " FROM invoices i JOIN orders o ON o.id = i.order_id JOIN customers c ON c.id = o.customer_id WHERE i.id = %s",
        pk,
    )
    (
        year_,
        seq,
        subtotal,
        tax,
        total,
        paid,
        customer,
        issued_at,
        due_at,
        terms,
        o_subtotal,
        o_tax,
        o_total,
        o_customer,
    ) = row
    assert (year_, seq) == (year, last + 1)
    assert (subtotal, tax, total) == (o_subtotal, o_tax, o_total) and total == subtotal + tax
    assert paid == Decimal("0.00") and customer == o_customer
    assert invoice["total"] == str(total) and invoice["amountDue"] == str(total)
    # Due after the customer's terms, in days of the organization's calendar.
    zone = ZoneInfo("America/New_York")
    local_issue = issued_at.astimezone(zone).replace(tzinfo=None)
    assert due_at.astimezone(zone).replace(tzinfo=None) == local_issue + timedelta(days=terms)
    assert abs(datetime.now(zone) - issued_at) < timedelta(minutes=1)
    # The lines are the order's, as they were, numbered from 1.
    lines = sql(
        url,
        "SELECT line_no, product_id, sku, description, quantity, unit_price, discount, tax_rate, line_total"
        " FROM invoice_lines WHERE invoice_id = %s ORDER BY line_no",
        pk,
    )
    expected = sql(
        url,
        "SELECT row_number() OVER (ORDER BY l.line_no)::int, l.product_id, p.sku, p.name, l.quantity,"
        " l.unit_price, l.discount, l.tax_rate, l.line_total FROM order_lines l JOIN products p ON p.id = l.product_id"
        " WHERE l.order_id = %s ORDER BY l.line_no",
        order_id,
    )
    assert lines == expected and len(lines) == 3
    assert sum(line[-1] for line in lines) == subtotal
    (audit,) = sql(
        url, "SELECT action, actor, changes FROM audit_log WHERE entity_type = 'Invoice' AND entity_id = %s", pk
    )
    assert audit[0] == "invoice.issued" and audit[1] == "finance@acme.example"
    assert audit[2]["number"] == {"before": None, "after": invoice["number"]}
    (event,) = sql(url, "SELECT event_type, payload FROM outbox WHERE entity_type = 'Invoice' AND entity_id = %s", pk)
    assert event == (
        "invoice.issued",
        {"number": invoice["number"], "orderId": gid("Order", order_id), "total": str(total)},
    )


async def test_the_invoice_is_readable_with_its_lines_and_its_order_shows_it(writes_client, writes_settings):
    url = writes_settings.database_url
    order_id = make_order(url, lines=2)
    invoice = await issue(writes_client, writes_settings, order_id)
    from tests.support.graphql import data

    read = await data(
        writes_client,
        "query($id: ID!) { node(id: $id) { ... on Order {"
        " invoice { id number lines { edges { node { lineNo sku } } } } } } }",
        {"id": gid("Order", order_id)},
        token=token(writes_settings, "analyst"),
    )
    assert read["node"]["invoice"]["id"] == invoice["id"]
    assert [e["node"]["lineNo"] for e in read["node"]["invoice"]["lines"]["edges"]] == [1, 2]


@pytest.mark.parametrize("status", ["draft", "placed", "cancelled"])
async def test_orders_not_approved_or_fulfilled_cannot_be_invoiced(writes_client, writes_settings, status):
    url = writes_settings.database_url
    order_id = make_order(url, status=status)
    before = footprint(url)
    payload = await mutate(
        writes_client, ISSUE, {"input": {"orderId": gid("Order", order_id)}}, token(writes_settings, "finance")
    )
    assert payload["invoice"] is None and codes(payload) == ["INVALID_TRANSITION"]
    assert footprint(url) == before


async def test_an_order_is_invoiced_once_even_when_two_issue_it_at_the_same_time(writes_client, writes_settings):
    url = writes_settings.database_url
    order_id = make_order(url)
    finance = token(writes_settings, "finance")
    racers = await asyncio.gather(
        *[mutate(writes_client, ISSUE, {"input": {"orderId": gid("Order", order_id)}}, finance) for _ in range(2)]
    )
    assert sorted(codes(p) for p in racers) == [[], ["INVALID_TRANSITION"]]
    assert count(url, "invoices", "order_id = %s", order_id) == 1
    before = footprint(url)
    again = await mutate(writes_client, ISSUE, {"input": {"orderId": gid("Order", order_id)}}, finance)
    assert codes(again) == ["INVALID_TRANSITION"]
    assert footprint(url) == before


async def test_twenty_concurrent_issues_take_twenty_consecutive_numbers(writes_client, writes_settings):
    url = writes_settings.database_url
    orders = [make_order(url) for _ in range(20)]
    year = _this_year(url, 1)
    last = _last_seq(url, 1, year)
    finance = token(writes_settings, "finance")
    payloads = await asyncio.gather(
        *[mutate(writes_client, ISSUE, {"input": {"orderId": gid("Order", o)}}, finance) for o in orders]
    )
    assert all(p["errors"] == [] for p in payloads), [p["errors"] for p in payloads]
    seqs = sorted(s for (s,) in sql(url, "SELECT seq FROM invoices WHERE order_id = ANY(%s)", orders))
    assert seqs == list(range(last + 1, last + 21))
    assert sorted(p["invoice"]["number"] for p in payloads) == [f"INV-{year}-{s:06d}" for s in seqs]
    assert _last_seq(url, 1, year) == last + 20


async def test_a_rolled_back_issue_gives_its_number_back(writes_app, writes_client, writes_settings):
    url = writes_settings.database_url
    order_id, year = make_order(url), _this_year(url, 1)
    taken: list[str] = []

    async def issue_then_fail(session):
        outcome = await issue_invoice(session, IssueInvoice(order_id=order_id))
        taken.append(await session.value("SELECT number FROM invoices WHERE id = %(pk)s", {"pk": outcome.pk}))
        raise CommandError("CONFLICT", "something after the issue failed")

    finance = Principal(org_id=1, subject="test", roles=frozenset({"finance"}))
    before = footprint(url)
    result = await CommandService(writes_app.state.database, finance, PageLimits()).run(issue_then_fail, {})
    assert [e.code for e in result.errors] == ["CONFLICT"]
    assert footprint(url) == before
    last = _last_seq(url, 1, year)
    assert taken == [f"INV-{year}-{last + 1:06d}"]
    invoice = await issue(writes_client, writes_settings, order_id)
    assert invoice["number"] == taken[0]


async def test_issuing_with_an_idempotency_key_is_safe_to_retry(writes_client, writes_settings):
    url = writes_settings.database_url
    order_id, other = make_order(url), make_order(url)
    finance = token(writes_settings, "finance")
    key = f"issue-{order_id}"
    first = await mutate(
        writes_client, ISSUE, {"input": {"orderId": gid("Order", order_id), "idempotencyKey": key}}, finance
    )
    assert first["errors"] == []
    before = footprint(url)
    repeats = await asyncio.gather(
        *[
            mutate(writes_client, ISSUE, {"input": {"orderId": gid("Order", order_id), "idempotencyKey": key}}, finance)
            for _ in range(3)
        ]
    )
    assert all(r["errors"] == [] and r["invoice"]["number"] == first["invoice"]["number"] for r in repeats)
    assert footprint(url) == before
    reused = await mutate(
        writes_client, ISSUE, {"input": {"orderId": gid("Order", other), "idempotencyKey": key}}, finance
    )
    assert [(e["code"], e["field"]) for e in reused["errors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    ]
    assert footprint(url) == before and count(url, "invoices", "order_id = %s", other) == 0


@pytest.mark.parametrize("role", ["sales", "analyst", "customer", "hr", "manager", "employee"])
async def test_only_admin_and_finance_issue_and_void(writes_client, writes_settings, role):
    url = writes_settings.database_url
    order_id = make_order(url)
    before = footprint(url)
    refused = await mutate(
        writes_client, ISSUE, {"input": {"orderId": gid("Order", order_id)}}, token(writes_settings, role)
    )
    assert codes(refused) == ["FORBIDDEN"] and refused["invoice"] is None
    existing = sql(url, "SELECT id FROM invoices WHERE org_id = 1 AND status = 'issued' LIMIT 1")[0][0]
    voided = await mutate(
        writes_client, VOID, {"input": {"id": gid("Invoice", existing)}}, token(writes_settings, role)
    )
    assert codes(voided) == ["FORBIDDEN"]
    assert footprint(url) == before


async def test_admin_issues_too(writes_client, writes_settings):
    invoice = await issue(writes_client, writes_settings, make_order(writes_settings.database_url), role="admin")
    assert invoice["status"] == "ISSUED"


async def test_another_organizations_order_and_invoice_do_not_exist(writes_client, writes_settings):
    url = writes_settings.database_url
    foreign_order = make_order(url, "globex")
    foreign_invoice = sql(url, "SELECT id FROM invoices WHERE org_id = 2 AND status = 'issued' LIMIT 1")[0][0]
    finance = token(writes_settings, "finance")
    before = footprint(url)
    issued = await mutate(writes_client, ISSUE, {"input": {"orderId": gid("Order", foreign_order)}}, finance)
    assert [(e["code"], e["field"]) for e in issued["errors"]] == [("NOT_FOUND", ["input", "orderId"])]
    voided = await mutate(writes_client, VOID, {"input": {"id": gid("Invoice", foreign_invoice)}}, finance)
    assert [(e["code"], e["field"]) for e in voided["errors"]] == [("NOT_FOUND", ["input", "id"])]
    wrong_type = await mutate(writes_client, ISSUE, {"input": {"orderId": gid("Invoice", foreign_invoice)}}, finance)
    assert codes(wrong_type) == ["INVALID_ID"]
    assert footprint(url) == before
    # Globex's own finance issues it, numbered in globex's sequence.
    year = _this_year(url, 2)
    last = _last_seq(url, 2, year)
    invoice = await issue(writes_client, writes_settings, foreign_order, org="globex")
    assert invoice["number"] == f"INV-{year}-{last + 1:06d}"


async def test_void_keeps_the_number_and_lets_the_order_be_invoiced_again(writes_client, writes_settings):
    url = writes_settings.database_url
    order_id = make_order(url)
    first = await issue(writes_client, writes_settings, order_id)
    finance = token(writes_settings, "finance")
    stale = await mutate(writes_client, VOID, {"input": {"id": first["id"], "version": 7}}, finance)
    assert [(e["code"], e["field"]) for e in stale["errors"]] == [("CONFLICT", ["input", "version"])]
    voided = await mutate(
        writes_client, VOID, {"input": {"id": first["id"], "version": 1, "reason": "wrong address"}}, finance
    )
    assert voided["errors"] == []
    assert voided["invoice"] == {
        "id": first["id"],
        "number": first["number"],
        "status": "VOID",
        "version": 2,
        "availableTransitions": [],
    }
    pk = pk_of(first["id"])
    (audit,) = sql(
        url,
        "SELECT action, changes FROM audit_log WHERE entity_type = 'Invoice' AND entity_id = %s"
        " AND action = 'invoice.voided'",
        pk,
    )
    assert audit[1] == {
        "status": {"before": "issued", "after": "void"},
        "reason": {"before": None, "after": "wrong address"},
    }
    (event,) = sql(url, "SELECT payload FROM outbox WHERE entity_id = %s AND event_type = 'invoice.voided'", pk)
    assert event[0] == {"invoiceId": first["id"], "number": first["number"], "orderId": gid("Order", order_id)}
    again = await mutate(writes_client, VOID, {"input": {"id": first["id"]}}, finance)
    assert codes(again) == ["INVALID_TRANSITION"]
    second = await issue(writes_client, writes_settings, order_id)
    assert second["number"] != first["number"]
    assert sql(url, "SELECT number, status FROM invoices WHERE order_id = %s ORDER BY id", order_id) == [
        (first["number"], "void"),
        (second["number"], "issued"),
    ]


async def test_an_invoice_with_payments_cannot_be_voided(writes_client, writes_settings):
    url = writes_settings.database_url
    finance = token(writes_settings, "finance")
    invoice = await issue(writes_client, writes_settings, make_order(url))
    paid = await pay(writes_client, writes_settings, invoice["id"], "1.00")
    assert paid["errors"] == []
    # Overdue with part paid: the state allows voiding, the guard does not.
    overdue = sql(url, "SELECT id FROM invoices WHERE org_id = 1 AND status = 'overdue' AND amount_paid > 0 LIMIT 1")[
        0
    ][0]
    before = footprint(url)
    refused = await mutate(writes_client, VOID, {"input": {"id": gid("Invoice", overdue)}}, finance)
    assert codes(refused) == ["HAS_PAYMENTS"] and refused["invoice"] is None
    # Partially paid (and paid) invoices are past voiding altogether.
    refused = await mutate(writes_client, VOID, {"input": {"id": invoice["id"]}}, finance)
    assert codes(refused) == ["INVALID_TRANSITION"] and refused["invoice"] is None
    assert footprint(url) == before


async def test_issuing_costs_the_same_statements_for_one_line_or_five(writes_app, writes_client, writes_settings):
    url = writes_settings.database_url
    small, large = make_order(url, lines=1), make_order(url, lines=5)
    with count_statements(writes_app) as one:
        await issue(writes_client, writes_settings, small)
    with count_statements(writes_app) as five:
        await issue(writes_client, writes_settings, large)
    assert len(one) == len(five)
    assert count(url, "invoice_lines", "invoice_id = (SELECT id FROM invoices WHERE order_id = %s)", large) == 5


def _as_app_role(url, statement: str, *params) -> None:
    """Run one statement the way the server's connections do: as bizgraph_app, in acme."""
    with psycopg.connect(conninfo(url)) as conn:
        conn.execute("SET ROLE bizgraph_app")
        conn.execute("SELECT set_config('bizgraph.org_id', '1', true)")
        conn.execute(statement, params)
        conn.rollback()


async def test_the_database_refuses_changes_to_an_issued_invoice(writes_client, writes_settings):
    url = writes_settings.database_url
    invoice = await issue(writes_client, writes_settings, make_order(url))
    pk = pk_of(invoice["id"])
    refused = {
        "UPDATE invoices SET total = total + 1, subtotal = subtotal + 1 WHERE id = %s": "invoice_issued_immutable",
        "UPDATE invoices SET due_at = due_at + interval '1 day' WHERE id = %s": "invoice_issued_immutable",
        "UPDATE invoices SET number = 'INV-0000-000000' WHERE id = %s": "invoice_issued_immutable",
        "DELETE FROM invoices WHERE id = %s": "invoice_issued_immutable",
        (
            "UPDATE invoice_lines SET quantity = quantity + 1, line_total = line_total + unit_price"
            " WHERE invoice_id = %s"
        ): "invoice_lines_immutable",
        "DELETE FROM invoice_lines WHERE invoice_id = %s": "invoice_lines_immutable",
    }
    for statement, name in refused.items():
        with pytest.raises(psycopg.errors.CheckViolation) as caught:
            _as_app_role(url, statement, pk)
        assert caught.value.diag.constraint_name == name, statement
    # What paying and the lifecycle change, and a deleted product's id, may change.
    _as_app_role(
        url,
        "UPDATE invoices SET amount_paid = 1, status = 'partially_paid', version = version + 1,"
        " updated_at = now() WHERE id = %s",
        pk,
    )
    _as_app_role(url, "UPDATE invoice_lines SET product_id = NULL WHERE invoice_id = %s", pk)
    # Drafts are still being written.
    draft = sql(url, "SELECT id FROM invoices WHERE org_id = 1 AND status = 'draft' LIMIT 1")[0][0]
    _as_app_role(url, "UPDATE invoices SET subtotal = subtotal + 1, total = total + 1 WHERE id = %s", draft)
    _as_app_role(url, "DELETE FROM invoices WHERE id = %s", draft)
    assert sql(url, "SELECT status, total FROM invoices WHERE id = %s", pk) == [("issued", Decimal(invoice["total"]))]
