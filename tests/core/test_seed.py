"""Given a migrated database, when the demo data is seeded, then it is deterministic,
consistent across every row, and never seeded twice by accident."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from app.migrations import upgrade
from app.models import metadata
from app.models.states import (
    CUSTOMER_KINDS,
    CUSTOMER_SEGMENTS,
    CUSTOMER_STATUSES,
    EMPLOYEE_STATUSES,
    INVOICE_STATUSES,
    ORDER_STATUSES,
)
from app.seed import SeedRefused, SeedReport, generate, is_seeded, run_seed
from app.seed.scales import scale_named
from tests.conftest import SEED
from tests.support.db import conninfo

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ANCHOR = "2026-10-31 00:00:00+00"
# The history the seed derives from the business rows (the audit log, the outbox, the
# email log made from it) and bookkeeping are left out: they follow from the rest.
DERIVED_TABLES = {"audit_log", "outbox", "email_deliveries", "email_attempts", "email_cursors"}
# Webhooks are registered by admins and filled by the worker: the seed writes none.
WEBHOOK_TABLES = {"webhook_endpoints", "webhook_deliveries", "webhook_attempts", "webhook_progress"}
SEEDED_TABLES = sorted(
    set(metadata.tables) - DERIVED_TABLES - WEBHOOK_TABLES - {"idempotency_keys", "counters", "stored_operations"}
)

# Each query counts the rows that break one rule; all must count zero.
INVARIANTS = {
    "order totals add up": """
        SELECT count(*) FROM orders o LEFT JOIN (
            SELECT order_id, sum(line_total) AS subtotal, sum(round(line_total * tax_rate, 2)) AS tax, count(*) AS n
            FROM order_lines GROUP BY order_id) l ON l.order_id = o.id
        WHERE l.n IS NULL OR o.subtotal <> l.subtotal OR o.tax <> l.tax OR o.total <> o.subtotal + o.tax""",
    "line totals follow the formula": """
        SELECT (SELECT count(*) FROM order_lines WHERE line_total <> quantity * unit_price - discount
                OR discount < 0 OR scale(line_total) <> 2)
             + (SELECT count(*) FROM invoice_lines WHERE line_total <> quantity * unit_price - discount)""",
    "placed_at is null exactly for drafts": """
        SELECT count(*) FROM orders WHERE (status = 'draft') <> (placed_at IS NULL)""",
    "order steps are in time order": f"""
        SELECT count(*) FROM orders WHERE placed_at < created_at OR approved_at < placed_at
            OR fulfilled_at < coalesce(approved_at, placed_at) OR cancelled_at < coalesce(approved_at, placed_at)
            OR greatest(created_at, updated_at, placed_at, fulfilled_at, cancelled_at) > '{ANCHOR}'
            OR (status = 'fulfilled') <> (fulfilled_at IS NOT NULL)
            OR (status = 'cancelled') <> (cancelled_at IS NOT NULL)""",
    "amount_paid is the sum of payments": """
        SELECT count(*) FROM invoices i LEFT JOIN (
            SELECT invoice_id, sum(amount) AS paid FROM payments GROUP BY invoice_id) p ON p.invoice_id = i.id
        WHERE i.amount_paid <> coalesce(p.paid, 0) OR i.amount_paid > i.total""",
    "invoice status matches what was paid": f"""
        SELECT count(*) FROM invoices WHERE NOT CASE status
            WHEN 'paid' THEN amount_paid = total
            WHEN 'partially_paid' THEN amount_paid > 0 AND amount_paid < total AND due_at >= '{ANCHOR}'
            WHEN 'overdue' THEN amount_paid < total AND due_at < '{ANCHOR}'
            WHEN 'issued' THEN amount_paid = 0 AND due_at >= '{ANCHOR}'
            ELSE amount_paid = 0 END""",
    "drafts have no number, issued invoices have one": """
        SELECT count(*) FROM invoices WHERE (status = 'draft')
            <> (number IS NULL AND year IS NULL AND seq IS NULL AND issued_at IS NULL AND due_at IS NULL)
            OR number <> format('INV-%s-%s', year, lpad(seq::text, 6, '0'))
            OR due_at < issued_at + interval '14 days'""",
    "invoice numbers are gapless per organization and year, in issue order": """
        SELECT count(*) FROM (
            SELECT seq, row_number() OVER w AS expected, issued_at < lag(issued_at) OVER w AS earlier
            FROM invoices WHERE seq IS NOT NULL WINDOW w AS (PARTITION BY org_id, year ORDER BY seq)) s
        WHERE seq <> expected OR earlier""",
    "invoices copy their order": """
        SELECT count(*) FROM invoices i JOIN orders o ON o.id = i.order_id
        WHERE (i.subtotal, i.tax, i.total, i.customer_id) <> (o.subtotal, o.tax, o.total, o.customer_id)
            OR NOT (o.status IN ('placed', 'approved', 'fulfilled') OR (o.status = 'cancelled' AND i.status = 'void'))
            OR (SELECT count(*) FROM invoice_lines il WHERE il.invoice_id = i.id)
               <> (SELECT count(*) FROM order_lines ol WHERE ol.order_id = o.id)""",
    "invoice lines snapshot the order lines and products": """
        SELECT count(*) FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id
        JOIN order_lines ol ON ol.order_id = i.order_id AND ol.line_no = il.line_no
        JOIN products p ON p.id = il.product_id
        WHERE (il.product_id, il.quantity, il.unit_price, il.discount, il.tax_rate, il.line_total)
              <> (ol.product_id, ol.quantity, ol.unit_price, ol.discount, ol.tax_rate, ol.line_total)
            OR (il.sku, il.description) <> (p.sku, p.name)""",
    "at most one live invoice per order": """
        SELECT count(*) FROM (SELECT order_id FROM invoices WHERE status <> 'void' GROUP BY 1 HAVING count(*) > 1) d""",
    "payments come after the issue, before the anchor": f"""
        SELECT count(*) FROM payments p JOIN invoices i ON i.id = p.invoice_id
        WHERE p.amount <= 0 OR p.paid_at <= i.issued_at OR p.paid_at > '{ANCHOR}' OR i.status IN ('draft', 'void')""",
    "stock is consistent": """
        SELECT count(*) FROM products WHERE stock_reserved > stock_on_hand OR stock_reserved < 0
            OR tax_rate >= 1 OR unit_price <= 0""",
    "the management tree has no cycle and one root per organization": """
        WITH RECURSIVE walk(id, manager_id, depth) AS (
            SELECT id, manager_id, 0 FROM employees
            UNION ALL
            SELECT w.id, m.manager_id, w.depth + 1 FROM walk w JOIN employees m ON m.id = w.manager_id
            WHERE w.depth < 50)
        SELECT (SELECT count(*) FROM walk WHERE depth = 50)
             + (SELECT count(*) FROM (SELECT org_id FROM employees WHERE manager_id IS NULL
                                      GROUP BY org_id HAVING count(*) <> 1) r)""",
    "ended_on is set exactly for people who left": """
        SELECT count(*) FROM employees WHERE (status IN ('terminated', 'retired')) <> (ended_on IS NOT NULL)
            OR ended_on < hired_on OR hired_on > date '2026-10-31'""",
    "employment history matches the employee": """
        SELECT count(*) FROM employees e JOIN LATERAL (
            SELECT (array_agg(kind ORDER BY occurred_at, id))[1] AS first_kind,
                   (array_agg(kind ORDER BY occurred_at DESC, id DESC))[1] AS last_kind,
                   (array_agg(salary ORDER BY occurred_at DESC, id DESC)
                        FILTER (WHERE salary IS NOT NULL))[1] AS salary,
                   min(occurred_at)::date AS started, count(*) AS n
            FROM employment_events WHERE employee_id = e.id) h ON true
        WHERE h.first_kind <> 'hired' OR h.started <> e.hired_on OR h.salary <> e.salary
            OR (e.status = 'onboarding' AND h.n <> 1)
            OR CASE e.status WHEN 'on_leave' THEN 'leave_started' WHEN 'terminated' THEN 'terminated'
                             WHEN 'retired' THEN 'retired' ELSE 'still there' END
               <> CASE WHEN h.last_kind IN ('leave_started', 'terminated', 'retired') THEN h.last_kind
                       ELSE 'still there' END""",
    "department heads work in their department": """
        SELECT count(*) FROM departments d LEFT JOIN employees h ON h.id = d.head_id
        WHERE h.department_id IS DISTINCT FROM d.id""",
    "account managers work in sales": """
        SELECT count(*) FROM customers c JOIN employees e ON e.id = c.account_manager_id
        JOIN departments d ON d.id = e.department_id WHERE d.code NOT LIKE 'SALES%'""",
}

# Every reference, to check that both ends belong to the same organization.
REFERENCES = [
    ("users", "employee_id", "employees"),
    ("users", "customer_id", "customers"),
    ("departments", "parent_id", "departments"),
    ("departments", "head_id", "employees"),
    ("employees", "department_id", "departments"),
    ("employees", "manager_id", "employees"),
    ("employment_events", "employee_id", "employees"),
    ("employment_events", "department_id", "departments"),
    ("employment_events", "manager_id", "employees"),
    ("customers", "account_manager_id", "employees"),
    ("orders", "customer_id", "customers"),
    ("orders", "sales_rep_id", "employees"),
    ("order_lines", "order_id", "orders"),
    ("order_lines", "product_id", "products"),
    ("invoices", "order_id", "orders"),
    ("invoices", "customer_id", "customers"),
    ("invoice_lines", "invoice_id", "invoices"),
    ("invoice_lines", "product_id", "products"),
    ("payments", "invoice_id", "invoices"),
]


def _scalar(url, query: str, params=None):
    with psycopg.connect(conninfo(url)) as conn:
        return conn.execute(query, params).fetchone()[0]


def _fingerprint(url) -> dict[str, str]:
    """An md5 of every row of every seeded table, in id order."""
    with psycopg.connect(conninfo(url)) as conn:
        return {
            table: conn.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t").fetchone()[0]
            for table in SEEDED_TABLES
        }


# md5 of every seeded table's rows (``_fingerprint``, in UTC) for ``--scale tiny --seed 11``,
# as the seed made them when every row was still built in memory before loading. How the
# rows travel to PostgreSQL (batches, COPY statements) must never change them; a change to
# what the generators make, on purpose, records the new digests here.
RECORDED_TINY_11 = {
    "customers": "477194b0997a5a59d812d140c983cd59",
    "departments": "817e131777e6f5e57559749466836951",
    "employees": "d9662dc09dc5a545ce324ee04035b7ff",
    "employment_events": "8281d7e845d9afe39b8693b6fd14d984",
    "invoice_lines": "9ea1cd588722d2c641a4ecec61709063",
    "invoices": "1ce212faccd89b380c7dd49a873559c7",
    "oauth_clients": None,
    "order_lines": "339f78a26b0eed8e7e5e6629f1c6d15d",
    "orders": "9b49a07910e8520d778763142b7341f6",
    "organizations": "96d43cc0209becf624012991eaab1d81",
    "payments": "83baada25d6f228bab4a1097e700a146",
    "products": "de0217fad305e9463fdf65345b29b026",
    "users": "2f4e60d6983b5fc40c622f680cb116ce",
}


def _utc_fingerprint(url) -> dict[str, str | None]:
    """``_fingerprint`` with the session's time zone and date style fixed, so that the text of
    every timestamp (and so the digest) is the same on any server."""
    with psycopg.connect(conninfo(url), options="-c TimeZone=UTC -c DateStyle=ISO") as conn:
        return {
            table: conn.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t").fetchone()[0]
            for table in SEEDED_TABLES
        }


def _migrated(fresh_database):
    url = fresh_database()
    upgrade(url)
    return url


@pytest.mark.parametrize("rule", list(INVARIANTS))
def test_every_row_keeps_the_rule(seeded_url, rule):
    assert _scalar(seeded_url, INVARIANTS[rule]) == 0


@pytest.mark.parametrize("child, column, parent", REFERENCES)
def test_references_stay_within_one_organization(seeded_url, child, column, parent):
    query = f"SELECT count(*) FROM {child} c JOIN {parent} p ON p.id = c.{column} WHERE p.org_id <> c.org_id"
    assert _scalar(seeded_url, query) == 0


@pytest.mark.parametrize(
    "table, column, states",
    [
        ("orders", "status", ORDER_STATUSES),
        ("invoices", "status", INVOICE_STATUSES),
        ("employees", "status", EMPLOYEE_STATUSES),
        ("customers", "status", CUSTOMER_STATUSES),
        ("customers", "segment", CUSTOMER_SEGMENTS),
        ("customers", "kind", CUSTOMER_KINDS),
    ],
)
def test_the_tiny_data_set_has_every_state(seeded_url, table, column, states):
    assert set(_scalar(seeded_url, f"SELECT array_agg(DISTINCT {column}) FROM {table}")) == set(states)


def test_two_organizations_and_the_demo_one_has_most_of_the_data(seeded_url):
    with psycopg.connect(conninfo(seeded_url)) as conn:
        orgs = conn.execute("SELECT id, slug, name, currency, time_zone FROM organizations ORDER BY id").fetchall()
        orders = dict(conn.execute("SELECT org_id, count(*) FROM orders GROUP BY 1").fetchall())
        users = conn.execute("SELECT email, roles, password_hash FROM users ORDER BY org_id, id").fetchall()
        countries = conn.execute("SELECT count(DISTINCT country) FROM customers").fetchone()[0]
        history = conn.execute(
            "SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM outbox),"
            " (SELECT count(*) FROM orders WHERE placed_at IS NOT NULL)"
            " + (SELECT count(*) FROM invoices WHERE issued_at IS NOT NULL)"
        ).fetchone()
    assert [o[1:] for o in orgs] == [
        ("acme", "Acme Corporation", "USD", "America/New_York"),
        ("globex", "Globex GmbH", "EUR", "Europe/Berlin"),
    ]
    acme, globex = orgs[0][0], orgs[1][0]
    assert orders[acme] > 2 * orders[globex] > 0
    roles = ["admin", "finance", "hr", "analyst", "sales", "manager", "employee", "customer"]
    assert [(email, roles) for email, roles, _ in users] == [
        (f"{role}@{slug}.example", [role]) for slug in ("acme", "globex") for role in roles
    ]
    # One argon2id hash of the demo password for everyone, made once per run.
    assert len({password_hash for _, _, password_hash in users}) == 1 and users[0][2].startswith("$argon2id$")
    assert countries >= 5
    # The history the seeded orders and invoices would have left: one audit row and one event each.
    assert history[0] == history[1] == history[2] > 0


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not(fresh_database):
    first, second, other = (_migrated(fresh_database) for _ in range(3))
    report = run_seed(first, scale="tiny", seed=11, reset=False, progress=False)
    run_seed(second, scale="tiny", seed=11, reset=False, progress=False)
    run_seed(other, scale="tiny", seed=12, reset=False, progress=False)
    assert isinstance(report, SeedReport) and report.counts["orders"] == _scalar(first, "SELECT count(*) FROM orders")
    assert _fingerprint(first) == _fingerprint(second)
    differing = {t for t, digest in _fingerprint(other).items() if digest != _fingerprint(first)[t]}
    assert {"customers", "orders", "order_lines", "invoices", "payments", "employees"} <= differing


def test_refuses_to_seed_over_data_and_reset_replaces_it(fresh_database, capsys):
    url = _migrated(fresh_database)
    assert not is_seeded(url)
    first = run_seed(url, scale="tiny", seed=3, reset=False, progress=False)
    assert is_seeded(url)
    before = _fingerprint(url)
    with pytest.raises(SeedRefused, match="--reset") as refused:
        run_seed(url, scale="tiny", seed=4, reset=False, progress=False)
    assert refused.value.code == "SEED_REFUSED"
    assert _fingerprint(url) == before
    again = run_seed(url, scale="tiny", seed=3, reset=True, progress=False)
    assert again.counts == first.counts and _fingerprint(url) == before  # replaced, not duplicated
    assert capsys.readouterr() == ("", "")  # progress=False prints nothing
    # The identities were moved past the seeded ids: a plain INSERT gets a fresh id.
    new_id = _scalar(url, "INSERT INTO organizations (slug, name, currency) VALUES ('new', 'New', 'USD') RETURNING id")
    assert new_id > 2


def test_the_command_seeds_then_refuses_with_one_line(fresh_database):
    url = _migrated(fresh_database)
    env = {**os.environ, "DATABASE_URL": conninfo(url)}
    command = [sys.executable, "-m", "app.cli", "seed", "--scale", "tiny", "--seed", str(SEED)]
    seeded = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert seeded.returncode == 0, seeded.stderr
    assert "seeded scale tiny" in seeded.stdout and "orders 1,000" in seeded.stdout
    refused = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert refused.stderr.strip().count("\n") == 0 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("bizgraph: ") and "--reset" in refused.stderr


@pytest.mark.parametrize("batch", [generate.BATCH, 7], ids=["default batches", "batches of 7 rows"])
def test_seed_11_gives_the_recorded_data_whatever_the_batches(fresh_database, monkeypatch, batch):
    monkeypatch.setattr(generate, "BATCH", batch)
    url = _migrated(fresh_database)
    report = run_seed(url, scale="tiny", seed=11, reset=False, progress=False)
    assert _utc_fingerprint(url) == RECORDED_TINY_11
    assert report.counts["orders"] == _scalar(url, "SELECT count(*) FROM orders") == 1_000
    assert set(report.phases) == {"generate", "load", "indexes", "history", "analyze"}


def test_the_largest_tables_stream_out_in_batches_while_they_are_generated():
    handed: list[tuple[str, int]] = []
    streamed: dict[str, list] = {}

    def sink(table, columns, rows):
        assert tuple(columns) == in_memory.columns[table]
        handed.append((table, len(rows)))
        streamed.setdefault(table, []).extend(rows)

    tiny = scale_named("tiny")
    in_memory = generate.generate(tiny, 11, lambda _done: None)
    data = generate.generate(tiny, 11, lambda _done: None, sink=sink, batch=50)
    # Every row reached the sink, in the order the in-memory run holds them, and none is left behind.
    assert streamed == {table: rows for table, rows in in_memory.rows.items() if rows}
    assert all(not rows for rows in data.rows.values())
    assert data.counts() == in_memory.counts()
    # The streamed tables went out in several batches, the first ones before generating was over.
    first_flush = min(i for i, (table, _) in enumerate(handed) if table not in generate.STREAMED)
    for table in generate.STREAMED:
        early = [n for t, n in handed[:first_flush] if t == table]
        assert len(early) >= 2 and min(early) >= 50, (table, early)
