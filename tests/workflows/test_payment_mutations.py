"""Recording payments over HTTP with real tokens: partial then full payment with
exact amounts, overpayment and bad amounts refused without a trace, idempotency
under concurrent retries, roles, other organizations, the audit trail and events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.support.invoicing import PAY, footprint, issue, make_order, pay, prompt_payer
from tests.support.workflow import codes, count, gid, mutate, sql, token
from tests.support.workflow import pk as pk_of


async def _invoice(client, settings, **order):
    return await issue(client, settings, make_order(settings.database_url, **order))


async def test_partial_then_full_payment(writes_client, writes_settings):
    url = writes_settings.database_url
    invoice = await _invoice(writes_client, writes_settings)
    pk, total = pk_of(invoice["id"]), Decimal(invoice["total"])
    first_amount = Decimal("10.05")
    first = await pay(
        writes_client,
        writes_settings,
        invoice["id"],
        str(first_amount),
        reference="TRF-1",
        paidAt="2026-01-15T09:30:00+01:00",
    )
    assert first["errors"] == []
    assert first["payment"]["amount"] == "10.05" and first["payment"]["method"] == "BANK_TRANSFER"
    assert first["payment"]["reference"] == "TRF-1"
    assert datetime.fromisoformat(first["payment"]["paidAt"]) == datetime(2026, 1, 15, 8, 30, tzinfo=UTC)
    assert first["payment"]["invoice"] == {
        "id": invoice["id"],
        "status": "PARTIALLY_PAID",
        "amountPaid": "10.05",
        "amountDue": str(total - first_amount),
        "version": 2,
    }
    rest = total - first_amount
    second = await pay(writes_client, writes_settings, invoice["id"], str(rest), method="CARD")
    assert second["errors"] == []
    assert second["payment"]["invoice"]["status"] == "PAID"
    assert second["payment"]["invoice"]["amountDue"] == "0.00"
    (row,) = sql(url, "SELECT status, amount_paid, total, version FROM invoices WHERE id = %s", pk)
    assert row == ("paid", total, total, 3)
    amounts = sql(url, "SELECT amount, method FROM payments WHERE invoice_id = %s ORDER BY id", pk)
    assert amounts == [(first_amount, "bank_transfer"), (rest, "card")]
    assert sum(a for a, _ in amounts) == total
    # One audit row per changed entity: each payment, and the invoice each time.
    audits = sql(
        url,
        "SELECT entity_type, action, changes FROM audit_log WHERE (entity_type = 'Invoice' AND entity_id = %s)"
        " OR (entity_type = 'Payment' AND entity_id IN (SELECT id FROM payments WHERE invoice_id = %s))"
        " ORDER BY id",
        pk,
        pk,
    )
    assert [(a[0], a[1]) for a in audits] == [
        ("Invoice", "invoice.issued"),
        ("Payment", "payment.recorded"),
        ("Invoice", "invoice.payment_recorded"),
        ("Payment", "payment.recorded"),
        ("Invoice", "invoice.payment_recorded"),
    ]
    assert audits[2][2] == {
        "amountPaid": {"before": "0.00", "after": "10.05"},
        "status": {"before": "issued", "after": "partially_paid"},
    }
    assert audits[4][2]["status"] == {"before": "partially_paid", "after": "paid"}
    events = sql(
        url, "SELECT event_type, payload FROM outbox WHERE entity_type = 'Invoice' AND entity_id = %s ORDER BY id", pk
    )
    assert [e[0] for e in events] == [
        "invoice.issued",
        "invoice.payment_recorded",
        "invoice.payment_recorded",
        "invoice.paid",
    ]
    assert events[1][1] == {
        "invoiceId": invoice["id"],
        "paymentId": first["payment"]["id"],
        "amount": "10.05",
        "amountDue": str(rest),
    }
    assert events[3][1] == {"invoiceId": invoice["id"], "number": invoice["number"], "total": str(total)}
    # Nothing is due any more: a paid invoice takes no payment.
    before = footprint(url)
    more = await pay(writes_client, writes_settings, invoice["id"], "0.01")
    assert codes(more) == ["INVALID_TRANSITION"]
    assert footprint(url) == before


async def test_an_overdue_invoice_stays_overdue_until_fully_paid(writes_client, writes_settings):
    url = writes_settings.database_url
    (pk, total, paid) = sql(
        url,
        "SELECT id, total, amount_paid FROM invoices WHERE org_id = 1 AND status = 'overdue'"
        " AND total - amount_paid > 1 ORDER BY id LIMIT 1",
    )[0]
    partial = await pay(writes_client, writes_settings, gid("Invoice", pk), "1.00")
    assert partial["payment"]["invoice"]["status"] == "OVERDUE"
    assert Decimal(partial["payment"]["invoice"]["amountPaid"]) == paid + Decimal("1.00")
    rest = total - paid - Decimal("1.00")
    full = await pay(writes_client, writes_settings, gid("Invoice", pk), str(rest))
    assert full["payment"]["invoice"]["status"] == "PAID" and full["payment"]["invoice"]["amountDue"] == "0.00"


async def test_overpayment_is_refused_and_writes_nothing(writes_client, writes_settings):
    url = writes_settings.database_url
    invoice = await _invoice(writes_client, writes_settings)
    await pay(writes_client, writes_settings, invoice["id"], "5.00")
    due = Decimal(invoice["total"]) - Decimal("5.00")
    before = footprint(url)
    over = await pay(writes_client, writes_settings, invoice["id"], str(due + Decimal("0.01")), idempotencyKey="over-1")
    assert over["payment"] is None
    assert [(e["code"], e["field"]) for e in over["errors"]] == [("OVERPAYMENT", ["input", "amount"])]
    assert str(due) in over["errors"][0]["message"]
    assert footprint(url) == before
    exact = await pay(writes_client, writes_settings, invoice["id"], str(due), idempotencyKey="over-1")
    assert exact["errors"] == [] and exact["payment"]["invoice"]["status"] == "PAID"  # the refused try kept no key


@pytest.mark.parametrize(
    "extra, code, field",
    [
        ({"amount": "10.001"}, "TOO_MANY_DECIMALS", ["input", "amount"]),
        ({"amount": "0"}, "NOT_POSITIVE", ["input", "amount"]),
        ({"amount": "0.00"}, "NOT_POSITIVE", ["input", "amount"]),
        ({"amount": "-5.00"}, "NOT_POSITIVE", ["input", "amount"]),
        ({"amount": "1000000000000.00"}, "INVALID", ["input", "amount"]),
        ({"reference": "R" * 65}, "TOO_LONG", ["input", "reference"]),
        ({"paidAt": "2099-01-01T00:00:00Z"}, "INVALID", ["input", "paidAt"]),
        ({"invoiceId": "bm9wZQ=="}, "INVALID_ID", ["input", "invoiceId"]),
        ({"invoiceId": gid("Order", 1)}, "INVALID_ID", ["input", "invoiceId"]),
        ({"idempotencyKey": "k" * 101}, "INVALID", ["input", "idempotencyKey"]),
    ],
)
async def test_bad_input_is_refused_with_its_path_and_writes_nothing(
    writes_client, writes_settings, extra, code, field
):
    url = writes_settings.database_url
    pk = sql(url, "SELECT id FROM invoices WHERE org_id = 1 AND status = 'issued' ORDER BY id LIMIT 1")[0][0]
    before = footprint(url)
    variables = {"input": {"invoiceId": gid("Invoice", pk), "amount": "1.00", "method": "CASH", **extra}}
    payload = await mutate(writes_client, PAY, variables, token(writes_settings, "finance"))
    assert payload["payment"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert footprint(url) == before


async def test_a_payment_time_without_an_offset_is_a_graphql_error(writes_client, writes_settings):
    from tests.support.graphql import gql

    url = writes_settings.database_url
    pk = sql(url, "SELECT id FROM invoices WHERE org_id = 1 AND status = 'issued' ORDER BY id LIMIT 1")[0][0]
    before = footprint(url)
    body = await gql(
        writes_client,
        PAY,
        {
            "input": {
                "invoiceId": gid("Invoice", pk),
                "amount": "1.00",
                "method": "CASH",
                "paidAt": "2026-01-15T09:30:00",
            }
        },
        token=token(writes_settings, "finance"),
    )
    assert body.get("data") is None and "no UTC offset" in body["errors"][0]["message"]
    assert footprint(url) == before


async def test_a_paid_at_a_few_seconds_ahead_is_accepted(writes_client, writes_settings):
    invoice = await _invoice(writes_client, writes_settings)
    soon = (datetime.now(UTC) + timedelta(seconds=20)).isoformat()
    payload = await pay(writes_client, writes_settings, invoice["id"], "1.00", paidAt=soon)
    assert payload["errors"] == []


async def test_twenty_concurrent_retries_record_one_payment(writes_client, writes_settings):
    url = writes_settings.database_url
    invoice = await _invoice(writes_client, writes_settings)
    pk = pk_of(invoice["id"])
    key = f"pay-{pk}"
    finance = token(writes_settings, "finance")
    variables = {"input": {"invoiceId": invoice["id"], "amount": "7.50", "method": "CARD", "idempotencyKey": key}}
    payloads = await asyncio.gather(*[mutate(writes_client, PAY, variables, finance) for _ in range(20)])
    assert all(p["errors"] == [] for p in payloads), [p["errors"] for p in payloads]
    (payment_id,) = {p["payment"]["id"] for p in payloads}
    assert sql(url, "SELECT id, amount, idempotency_key FROM payments WHERE invoice_id = %s", pk) == [
        (pk_of(payment_id), Decimal("7.50"), key)
    ]
    assert sql(url, "SELECT amount_paid, status, version FROM invoices WHERE id = %s", pk) == [
        (Decimal("7.50"), "partially_paid", 2)
    ]
    assert (
        count(
            url, "audit_log", "entity_type = 'Invoice' AND entity_id = %s AND action = 'invoice.payment_recorded'", pk
        )
        == 1
    )
    assert count(url, "outbox", "entity_id = %s AND event_type = 'invoice.payment_recorded'", pk) == 1
    # The same key for a different request is refused, and changes nothing.
    before = footprint(url)
    other = {"input": {**variables["input"], "amount": "7.51"}}
    reused = await mutate(writes_client, PAY, other, finance)
    assert [(e["code"], e["field"]) for e in reused["errors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    ]
    assert footprint(url) == before
    # The same amount spelled differently is the same request.
    same = await mutate(writes_client, PAY, {"input": {**variables["input"], "amount": "7.5"}}, finance)
    assert same["errors"] == [] and same["payment"]["id"] == payment_id
    assert footprint(url) == before


@pytest.mark.parametrize("role", ["sales", "analyst", "customer", "hr", "manager", "employee"])
async def test_only_admin_and_finance_record_payments(writes_client, writes_settings, role):
    url = writes_settings.database_url
    # An invoice of the sales rep's own account: sales sees it, and still may not take payments.
    (pk,) = sql(
        url,
        "SELECT i.id FROM invoices i JOIN customers c ON c.id = i.customer_id"
        " JOIN users u ON u.employee_id = c.account_manager_id"
        " WHERE u.email = 'sales@acme.example' AND i.status = 'issued' LIMIT 1",
    )[0]
    before = footprint(url)
    payload = await pay(writes_client, writes_settings, gid("Invoice", pk), "1.00", role=role)
    assert codes(payload) == ["FORBIDDEN"] and payload["payment"] is None
    assert footprint(url) == before


async def test_admin_records_payments_too(writes_client, writes_settings):
    invoice = await _invoice(writes_client, writes_settings)
    payload = await pay(writes_client, writes_settings, invoice["id"], "3.00", role="admin")
    assert payload["errors"] == [] and payload["payment"]["invoice"]["amountPaid"] == "3.00"


async def test_another_organizations_invoice_does_not_exist(writes_client, writes_settings):
    url = writes_settings.database_url
    foreign = sql(url, "SELECT id FROM invoices WHERE org_id = 2 AND status = 'issued' LIMIT 1")[0][0]
    before = footprint(url)
    payload = await pay(writes_client, writes_settings, gid("Invoice", foreign), "1.00")
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["input", "invoiceId"])]
    assert footprint(url) == before
    # Globex's finance may, and the same idempotency key means nothing across organizations.
    done = await pay(
        writes_client, writes_settings, gid("Invoice", foreign), "1.00", org="globex", idempotencyKey="shared"
    )
    assert done["errors"] == []
    mine = await _invoice(writes_client, writes_settings)
    also = await pay(writes_client, writes_settings, mine["id"], "1.00", idempotencyKey="shared")
    assert also["errors"] == [] and also["payment"]["id"] != done["payment"]["id"]


async def test_draft_and_void_invoices_take_no_payment(writes_client, writes_settings):
    url = writes_settings.database_url
    draft = sql(url, "SELECT id FROM invoices WHERE org_id = 1 AND status = 'draft' LIMIT 1")[0][0]
    void = sql(url, "SELECT id FROM invoices WHERE org_id = 1 AND status = 'void' LIMIT 1")[0][0]
    before = footprint(url)
    for pk in (draft, void):
        payload = await pay(writes_client, writes_settings, gid("Invoice", pk), "1.00")
        assert codes(payload) == ["INVALID_TRANSITION"]
    assert footprint(url) == before


async def test_a_due_invoice_can_still_be_paid_before_the_sweep(writes_client, writes_settings):
    """An invoice due now but not swept yet is ISSUED; paying part of it makes it PARTIALLY_PAID."""
    customer = await prompt_payer(writes_client, writes_settings)
    invoice = await _invoice(writes_client, writes_settings, customer_id=customer)
    assert "MARK_OVERDUE" in (await _transitions(writes_client, writes_settings, invoice["id"]))
    payload = await pay(writes_client, writes_settings, invoice["id"], "1.00")
    assert payload["payment"]["invoice"]["status"] == "PARTIALLY_PAID"


async def _transitions(client, settings, invoice_id):
    from tests.support.graphql import data

    read = await data(
        client,
        "query($id: ID!) { invoice(id: $id) { availableTransitions } }",
        {"id": invoice_id},
        token=token(settings, "finance"),
    )
    return read["invoice"]["availableTransitions"]
