"""The overdue sweep, as a mutation and as `bizgraph sweep-overdue`: it marks exactly
the open invoices past their due date, in its own organization only, with one audit
row and one event each, is idempotent, and costs the same statements for any number
of invoices."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.cli import main
from tests.support.graphql import count_statements
from tests.support.invoicing import SWEEP, VOID, footprint, issue, make_order, pay, prompt_payer
from tests.support.workflow import codes, mutate, sql, token
from tests.support.workflow import pk as pk_of

OPEN_PAST_DUE = "org_id = %s AND status IN ('issued', 'partially_paid') AND due_at < %s"


async def _due_now(client, settings, how_many: int, org: str = "acme") -> list[int]:
    """Invoices issued to a customer with 0 days' terms: past due as soon as they exist."""
    customer = await prompt_payer(client, settings, org)
    invoices = []
    for _ in range(how_many):
        order = make_order(settings.database_url, org, customer_id=customer)
        invoices.append(pk_of((await issue(client, settings, order, org=org))["id"]))
    return invoices


def _open_past_due(url, org_id: int, moment: datetime) -> set[int]:
    return {pk for (pk,) in sql(url, f"SELECT id FROM invoices WHERE {OPEN_PAST_DUE}", org_id, moment)}


def _last_ids(url) -> tuple[int, int]:
    return sql(url, "SELECT (SELECT coalesce(max(id), 0) FROM audit_log), (SELECT coalesce(max(id), 0) FROM outbox)")[0]


def _written_since(url, marks: tuple[int, int]) -> tuple[list[tuple], list[tuple]]:
    audits = sql(
        url,
        "SELECT entity_type, entity_id, action, actor, changes, org_id FROM audit_log WHERE id > %s ORDER BY id",
        marks[0],
    )
    events = sql(
        url,
        "SELECT entity_type, entity_id, event_type, payload, org_id FROM outbox WHERE id > %s ORDER BY id",
        marks[1],
    )
    return audits, events


async def test_the_sweep_marks_exactly_the_open_invoices_past_due(writes_client, writes_settings):
    url = writes_settings.database_url
    issued, partly, paid, voided = await _due_now(writes_client, writes_settings, 4)
    await pay(writes_client, writes_settings, _gid(partly), "1.00")
    total = sql(url, "SELECT total FROM invoices WHERE id = %s", paid)[0][0]
    await pay(writes_client, writes_settings, _gid(paid), str(total))
    await mutate(writes_client, VOID, {"input": {"id": _gid(voided)}}, token(writes_settings, "finance"))
    not_due = pk_of((await issue(writes_client, writes_settings, make_order(url)))["id"])  # 30 days' terms
    (foreign,) = await _due_now(writes_client, writes_settings, 1, "globex")
    await asyncio.sleep(0.01)
    expected = _open_past_due(url, 1, datetime.now(UTC))
    assert {issued, partly} <= expected and not {paid, voided, not_due, foreign} & expected
    statuses = dict(sql(url, "SELECT id, status FROM invoices WHERE id = ANY(%s)", list(expected)))
    marks = _last_ids(url)

    payload = await mutate(writes_client, SWEEP, {"input": {}}, token(writes_settings, "finance"))

    assert payload == {"markedOverdue": len(expected), "errors": []}
    assert _open_past_due(url, 1, datetime.now(UTC)) == set()
    assert {
        pk for (pk,) in sql(url, "SELECT id FROM invoices WHERE id = ANY(%s) AND status = 'overdue'", list(expected))
    } == expected
    after = dict(sql(url, "SELECT id, status FROM invoices WHERE id = ANY(%s)", [paid, voided, not_due, foreign]))
    assert after == {paid: "paid", voided: "void", not_due: "issued", foreign: "issued"}
    audits, events = _written_since(url, marks)
    assert sorted(a[1] for a in audits) == sorted(expected)  # one audit row per invoice, no more
    assert {(a[0], a[2], a[3], a[5]) for a in audits} == {("Invoice", "invoice.overdue", "finance@acme.example", 1)}
    assert all(a[4] == {"status": {"before": statuses[a[1]], "after": "overdue"}} for a in audits)
    assert {a[1]: a[4]["status"]["before"] for a in audits}[partly] == "partially_paid"
    assert sorted(e[1] for e in events) == sorted(expected)  # one event per invoice
    assert {(e[0], e[2], e[4]) for e in events} == {("Invoice", "invoice.overdue", 1)}
    (issued_event,) = [e[3] for e in events if e[1] == issued]
    number, due = sql(url, "SELECT number, total - amount_paid FROM invoices WHERE id = %s", issued)[0]
    assert issued_event == {"invoiceId": _gid(issued), "number": number, "amountDue": str(due)}

    before = footprint(url)
    again = await mutate(writes_client, SWEEP, {"input": {}}, token(writes_settings, "admin"))
    assert again == {"markedOverdue": 0, "errors": []}
    assert footprint(url) == before


async def test_as_of_marks_only_invoices_due_before_it(writes_client, writes_settings):
    url = writes_settings.database_url
    await mutate(writes_client, SWEEP, {"input": {}}, token(writes_settings, "finance"))  # nothing else pending
    early = await _due_now(writes_client, writes_settings, 2)
    await asyncio.sleep(0.05)
    cut = datetime.now(UTC)
    await asyncio.sleep(0.05)
    late = await _due_now(writes_client, writes_settings, 1)
    payload = await mutate(
        writes_client, SWEEP, {"input": {"asOf": cut.isoformat()}}, token(writes_settings, "finance")
    )
    assert payload == {"markedOverdue": 2, "errors": []}
    assert dict(sql(url, "SELECT id, status FROM invoices WHERE id = ANY(%s)", early + late)) == {
        early[0]: "overdue",
        early[1]: "overdue",
        late[0]: "issued",
    }


async def test_a_future_as_of_is_refused(writes_client, writes_settings):
    url = writes_settings.database_url
    before = footprint(url)
    ahead = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    payload = await mutate(writes_client, SWEEP, {"input": {"asOf": ahead}}, token(writes_settings, "finance"))
    assert payload["markedOverdue"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", ["input", "asOf"])]
    assert footprint(url) == before


@pytest.mark.parametrize("role", ["sales", "analyst", "customer", "hr", "manager", "employee"])
async def test_only_admin_and_finance_sweep(writes_client, writes_settings, role):
    url = writes_settings.database_url
    await _due_now(writes_client, writes_settings, 1)
    before = footprint(url)
    payload = await mutate(writes_client, SWEEP, {"input": {}}, token(writes_settings, role))
    assert codes(payload) == ["FORBIDDEN"] and payload["markedOverdue"] is None
    assert footprint(url) == before


async def test_the_sweep_costs_the_same_statements_for_one_invoice_or_many(writes_app, writes_client, writes_settings):
    finance = token(writes_settings, "finance")
    await mutate(writes_client, SWEEP, {"input": {}}, finance)
    seen = {}
    for how_many in (1, 6):
        await _due_now(writes_client, writes_settings, how_many)
        with count_statements(writes_app) as statements:
            payload = await mutate(writes_client, SWEEP, {"input": {}}, finance)
        assert payload == {"markedOverdue": how_many, "errors": []}
        seen[how_many] = len(statements)
    assert seen[1] == seen[6] <= 2


def _cli(monkeypatch, url, *args: str) -> int:
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    monkeypatch.delenv("BIZGRAPH_DB_ROLE", raising=False)
    return main(["sweep-overdue", *args])


async def test_the_cli_sweeps_each_organization_as_a_service_under_row_level_security(
    writes_client, writes_settings, monkeypatch, capsys
):
    url = writes_settings.database_url
    finance = token(writes_settings, "finance")
    await mutate(writes_client, SWEEP, {"input": {}}, finance)
    await mutate(writes_client, SWEEP, {"input": {}}, token(writes_settings, "finance", "globex"))
    acme = await _due_now(writes_client, writes_settings, 2)
    globex = await _due_now(writes_client, writes_settings, 1, "globex")
    marks = _last_ids(url)
    capsys.readouterr()

    # Only globex first: acme's invoices stay as they are.
    assert await asyncio.to_thread(_cli, monkeypatch, url, "--org", "globex") == 0
    assert capsys.readouterr().out == "globex: marked 1 invoice(s) overdue\n"
    assert dict(sql(url, "SELECT id, status FROM invoices WHERE id = ANY(%s)", acme + globex)) == {
        acme[0]: "issued",
        acme[1]: "issued",
        globex[0]: "overdue",
    }
    # Then every organization; globex has nothing left.
    assert await asyncio.to_thread(_cli, monkeypatch, url) == 0
    assert capsys.readouterr().out == "acme: marked 2 invoice(s) overdue\nglobex: marked 0 invoice(s) overdue\n"
    audits, events = _written_since(url, marks)
    assert sorted((a[5], a[1]) for a in audits) == sorted([(1, acme[0]), (1, acme[1]), (2, globex[0])])
    assert {(a[2], a[3]) for a in audits} == {("invoice.overdue", "bizgraph-sweep")}
    assert sql(url, "SELECT count(*) FROM audit_log WHERE id > %s AND actor_user_id IS NOT NULL", marks[0]) == [(0,)]
    assert sorted((e[4], e[1]) for e in events) == sorted((a[5], a[1]) for a in audits)
    # Idempotent.
    assert await asyncio.to_thread(_cli, monkeypatch, url) == 0
    assert capsys.readouterr().out == "acme: marked 0 invoice(s) overdue\nglobex: marked 0 invoice(s) overdue\n"


async def test_the_cli_as_of_and_its_mistakes(writes_client, writes_settings, monkeypatch, capsys):
    url = writes_settings.database_url
    await mutate(writes_client, SWEEP, {"input": {}}, token(writes_settings, "finance"))
    (pk,) = await _due_now(writes_client, writes_settings, 1)
    capsys.readouterr()
    long_ago = "2000-01-01T00:00:00Z"
    assert await asyncio.to_thread(_cli, monkeypatch, url, "--org", "acme", "--as-of", long_ago) == 0
    assert capsys.readouterr().out == "acme: marked 0 invoice(s) overdue\n"
    assert sql(url, "SELECT status FROM invoices WHERE id = %s", pk) == [("issued",)]
    assert await asyncio.to_thread(_cli, monkeypatch, url, "--org", "nowhere") == 2
    assert "no organization with the slug 'nowhere'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        await asyncio.to_thread(_cli, monkeypatch, url, "--as-of", "2026-01-01T00:00:00")
    assert exited.value.code == 2 and "no UTC offset" in capsys.readouterr().err
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert await asyncio.to_thread(_cli, monkeypatch, url, "--as-of", future) == 2
    assert "asOf is in the future" in capsys.readouterr().err
    assert sql(url, "SELECT status FROM invoices WHERE id = %s", pk) == [("issued",)]


def _gid(pk: int) -> str:
    from tests.support.workflow import gid

    return gid("Invoice", pk)
