"""The event catalog is the one list of what bizgraph emits.

Every database the suite creates has its outbox checked against the catalog
before it is dropped (``tests.support.db``); these tests prove that check can
fail, that every lifecycle's event is declared, and that README.md's table is
the catalog's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from app.events import CATALOG
from app.events.invoices import INVOICE_PAID
from app.events.table import markdown_table
from app.migrations import upgrade
from app.workflows import MACHINES
from tests.support.db import conninfo
from tests.support.events import outbox_problems

README = Path(__file__).resolve().parents[2] / "README.md"


def _insert(url, event_type: str, entity_type: str, payload: dict) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        org = conn.execute(
            "INSERT INTO organizations (slug, name, currency, time_zone) VALUES ('evt', 'Events', 'EUR', 'UTC')"
            " ON CONFLICT (slug) DO UPDATE SET name = excluded.name RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload) VALUES (%s, %s, %s, 1, %s)",
            (org, event_type, entity_type, json.dumps(payload)),
        )


def _clear(url) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("DELETE FROM outbox")


@pytest.mark.parametrize(
    ("event_type", "entity_type", "payload", "problem"),
    [
        ("invoice.refunded", "Invoice", {}, "invoice.refunded: not declared in the event catalog"),
        ("invoice.paid", "Order", {"invoiceId": "x", "number": "INV-1", "total": "1.00"}, "declared about a Invoice"),
        ("invoice.paid", "Invoice", {"invoiceId": "x", "number": "INV-1"}, "missing ['total']"),
        ("invoice.paid", "Invoice", {"invoiceId": "x", "number": "INV-1", "total": "1.00", "x": 1}, "undeclared ['x']"),
        ("invoice.paid", "Invoice", {"invoiceId": "x", "number": "INV-1", "total": 1.5}, "total: 1.5 is not a decimal"),
        (
            "invoice.paid",
            "Invoice",
            {"invoiceId": 7, "number": "INV-1", "total": "1.00"},
            "invoiceId: 7 is not a string",
        ),
    ],
)
def test_the_outbox_check_refuses_what_the_catalog_does_not_declare(
    fresh_database, event_type, entity_type, payload, problem
):
    url = fresh_database()
    upgrade(url)
    _insert(url, event_type, entity_type, payload)
    try:
        problems = outbox_problems(conninfo(url))
    finally:
        _clear(url)
    assert len(problems) == 1 and problem in problems[0]


def test_a_declared_event_with_a_fitting_payload_passes(fresh_database):
    url = fresh_database()
    upgrade(url)
    _insert(url, "invoice.paid", "Invoice", {"invoiceId": "SW52b2ljZTox", "number": "INV-2026-1", "total": "12.50"})
    try:
        assert outbox_problems(conninfo(url)) == []
    finally:
        _clear(url)


def test_announce_refuses_a_payload_that_strays_from_its_declaration():
    with pytest.raises(TypeError, match="lacks \\['total'\\]"):
        INVOICE_PAID.announce({"invoiceId": "x", "number": "INV-1"})  # type: ignore[typeddict-item]


def test_every_lifecycle_event_is_declared_about_its_entity():
    for machine in MACHINES.values():
        for transition in machine.transitions.values():
            if transition.event is not None:
                assert transition.event in CATALOG, f"{machine.entity}.{transition.name}: {transition.event}"
                assert CATALOG[transition.event].entity == machine.entity


def test_readme_lists_the_event_catalog():
    text = README.read_text()
    found = re.search(r"<!-- events:start -->\n(.*?)<!-- events:end -->", text, re.S)
    assert found, "README.md has no event table between <!-- events:start --> and <!-- events:end -->"
    assert found.group(1) == markdown_table(), "README.md's event table is stale: python -m app.events prints it"
