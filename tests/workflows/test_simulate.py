"""`bizgraph simulate`: realistic activity through the business commands, as the organization's
own users. Given a seeded database of its own, a bounded run leaves rows, states, audit entries
and events that agree with each other and with what the run reported; bad arguments are refused
with one line and exit status 2; Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import random
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.cli import main
from app.config import Settings
from app.db import Database
from app.migrations import upgrade
from resolvers.simulation import Simulation, load_staff
from tests.support.workflow import sql

ACTIONS = 80


@pytest.fixture(scope="module")
def simulated_settings(pg_server, demo_settings: Settings) -> Iterator[Settings]:
    """A seeded database of its own: the run changes it a great deal."""
    from app.seed import run_seed

    url = pg_server.create_database("bizgraph_simulate")
    upgrade(url)
    run_seed(url, scale="tiny", seed=7, reset=False, progress=False)
    yield replace(demo_settings, database_url=url)
    pg_server.drop_database(url)


def _marks(url) -> tuple[int, int, int]:
    return sql(
        url,
        "SELECT (SELECT coalesce(max(id), 0) FROM audit_log), (SELECT coalesce(max(id), 0) FROM outbox),"
        " (SELECT coalesce(max(id), 0) FROM orders)",
    )[0]


def _counts(url, query: str, *params) -> dict[str, int]:
    return dict(sql(url, query, *params))


async def test_a_bounded_run_leaves_consistent_rows_audit_and_events(simulated_settings):
    url = simulated_settings.database_url
    audit_mark, outbox_mark, order_mark = _marks(url)
    database = Database(simulated_settings)
    try:
        staff = await load_staff(database, "acme")
        tally = await Simulation(database, staff, rate=200, chance=random.Random(3)).run(actions=ACTIONS)
    finally:
        await database.dispose()
    done = tally.done

    # Every action did one thing or was refused, and the run did each kind of thing.
    assert tally.actions == ACTIONS
    assert sum(done.values()) + sum(tally.refused.values()) + tally.idle == ACTIONS
    assert tally.idle == 0  # the seeded organization has customers and stock enough
    assert done["placed"] + done["placed_approved"] > 0 and done["invoiced"] > 0
    assert done["paid"] + done["paid_partly"] > 0

    # The audit log has one entry per change, by the organization's own users, for acme only.
    audits = _counts(
        url,
        "SELECT action, count(*) FROM audit_log WHERE id > %s AND request_id LIKE 'simulate-%%' GROUP BY action",
        audit_mark,
    )
    placed = done["placed"] + done["placed_approved"]
    unplaceable = tally.refusals("place")  # drafted, refused on placing, then cancelled
    assert audits.get("order.created", 0) == placed + unplaceable
    assert audits.get("order.placed", 0) == placed
    assert audits.get("order.approved", 0) == done["approved"]
    assert audits.get("order.fulfilled", 0) == done["fulfilled"]
    assert audits.get("order.cancelled", 0) == done["cancelled"] + unplaceable
    assert audits.get("invoice.issued", 0) == done["invoiced"]
    assert audits.get("invoice.payment_recorded", 0) == done["paid"] + done["paid_partly"]
    assert audits.get("product.stock_adjusted", 0) == done["restocked"]
    actors = sql(
        url,
        "SELECT DISTINCT a.org_id, a.actor, u.email IS NOT NULL FROM audit_log a"
        " LEFT JOIN users u ON u.id = a.actor_user_id WHERE a.id > %s",
        audit_mark,
    )
    assert {(org, has_user) for org, _, has_user in actors} == {(1, True)}
    assert {actor for _, actor, _ in actors} <= {"sales@acme.example", "finance@acme.example", "manager@acme.example"}

    # The events announce the same changes (an order within the threshold is approved by placing it).
    events = _counts(url, "SELECT event_type, count(*) FROM outbox WHERE id > %s GROUP BY event_type", outbox_mark)
    assert events.get("order.created", 0) == placed + unplaceable
    assert events.get("order.placed", 0) == placed
    assert events.get("order.approved", 0) == done["placed_approved"] + done["approved"]
    assert events.get("invoice.issued", 0) == done["invoiced"]
    assert events.get("invoice.payment_recorded", 0) == done["paid"] + done["paid_partly"]
    assert set(_counts(url, "SELECT org_id::text, count(*) FROM outbox WHERE id > %s GROUP BY 1", outbox_mark)) == {"1"}

    # The rows: no draft is left behind, every new order was placed or cancelled as a draft, every
    # invoice matches its payments and its status, and no order has two live invoices.
    statuses = _counts(url, "SELECT status, count(*) FROM orders WHERE id > %s GROUP BY status", order_mark)
    assert sum(statuses.values()) == placed + unplaceable and "draft" not in statuses
    never_placed = sql(url, "SELECT count(*) FROM orders WHERE id > %s AND placed_at IS NULL", order_mark)[0][0]
    assert never_placed == unplaceable, statuses
    mismatched = sql(
        url,
        "SELECT i.id, i.status, i.total, i.amount_paid, coalesce(sum(p.amount), 0) FROM invoices i"
        " LEFT JOIN payments p ON p.invoice_id = i.id GROUP BY i.id"
        " HAVING i.amount_paid <> coalesce(sum(p.amount), 0)"
        " OR (i.status = 'paid') <> (i.amount_paid = i.total AND i.total > 0)",
    )
    assert mismatched == []
    twice = sql(url, "SELECT order_id FROM invoices WHERE status <> 'void' GROUP BY order_id HAVING count(*) > 1")
    assert twice == []
    assert (
        sql(url, "SELECT count(*) FROM products WHERE stock_reserved > stock_on_hand OR stock_reserved < 0")[0][0] == 0
    )


def _cli(monkeypatch, settings: Settings, *args: str) -> int:
    monkeypatch.setenv("DATABASE_URL", settings.database_url.render_as_string(hide_password=False))
    monkeypatch.delenv("BIZGRAPH_DB_ROLE", raising=False)
    return main(["simulate", *args])


def test_the_command_runs_a_bounded_number_of_actions_and_says_what_they_did(simulated_settings, monkeypatch, capsys):
    url = simulated_settings.database_url
    audit_mark = _marks(url)[0]

    status = _cli(monkeypatch, simulated_settings, "--rate", "100", "--actions", "12", "--organization", "globex")

    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert out[0] == "simulate: about 100 actions a second in globex, until 12 actions"
    assert out[-1].startswith("simulate: done: ") and ", 12 actions (" in out[-1]
    orgs = sql(url, "SELECT DISTINCT org_id FROM audit_log WHERE id > %s", audit_mark)
    assert orgs == [(2,)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "0"], "argument --rate: expected a positive number, got '0'"),
        (["--rate", "fast"], "argument --rate: expected a positive number, got 'fast'"),
        (["--seconds", "-3"], "argument --seconds: expected a positive number, got '-3'"),
        (["--actions", "1.5"], "argument --actions: expected a positive whole number, got '1.5'"),
        (["--organization", "initech", "--actions", "1"], "no organization with the slug 'initech'"),
    ],
)
def test_bad_arguments_are_refused_with_one_line(simulated_settings, monkeypatch, capsys, args, message):
    audit_mark = _marks(simulated_settings.database_url)[0]
    with pytest.raises(SystemExit) as stopped:
        status = _cli(monkeypatch, simulated_settings, *args)
        raise SystemExit(status)
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2
    assert len(err) == 1 and err[0].startswith(f"bizgraph: {message}"), err
    assert _marks(simulated_settings.database_url)[0] == audit_mark


def test_without_a_database_it_says_so(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    # A data directory no demo has recorded a database in (the CLI would reach that one).
    monkeypatch.setenv("BIZGRAPH_DATA_DIR", str(tmp_path))
    assert main(["simulate", "--actions", "1"]) == 2
    assert capsys.readouterr().err.startswith("bizgraph: DATABASE_URL is not set")


@pytest.mark.timeout(60)
def test_ctrl_c_lets_the_actions_under_way_finish_and_reports(simulated_settings):
    url = simulated_settings.database_url
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("BIZGRAPH_DB_ROLE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "simulate", "--rate", "20", "--every", "0.5", "--org", "acme"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]  # the start, then progress
        assert "actions (" in lines[1], lines
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "stopping after the actions under way" in out
    assert out.strip().splitlines()[-1].startswith("simulate: done: ")
    # Nothing was left half done: every order is past its draft.
    assert (
        sql(
            url,
            "SELECT count(*) FROM orders WHERE status = 'draft' AND id IN"
            " (SELECT entity_id FROM audit_log WHERE entity_type = 'Order' AND request_id LIKE 'simulate-%%')",
        )[0][0]
        == 0
    )


@pytest.mark.timeout(60)
def test_the_demo_banner_command_reaches_the_demo_database(simulated_settings, tmp_path):
    """The line `serve --demo` prints for an embedded database runs as it is, in a terminal
    without DATABASE_URL: the CLI finds the database in the demo's record."""
    from app.demo import demo_sign_ins
    from app.demo_env import write_demo_env

    settings = replace(simulated_settings, data_dir=tmp_path)
    # What prepare_demo records once its embedded database answers.
    write_demo_env(tmp_path, database_url=settings.database_url, issuer=settings.issuer)
    banner = demo_sign_ins(settings, host="127.0.0.1", port=8000, embedded=True)
    [line] = [line.strip() for line in banner.splitlines() if "bizgraph simulate" in line]
    command = shlex.split(line)
    assert command == ["bizgraph", "simulate", "--rate", "20"]
    audit_mark = _marks(simulated_settings.database_url)[0]
    env = {**os.environ, "BIZGRAPH_DATA_DIR": str(tmp_path)}
    for name in ("DATABASE_URL", "BIZGRAPH_DB_ROLE"):
        env.pop(name, None)

    finished = subprocess.run(
        [sys.executable, "-m", "app.cli", *command[1:], "--actions", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert finished.returncode == 0, finished.stderr
    assert ", 3 actions (" in finished.stdout.splitlines()[-1]
    assert sql(simulated_settings.database_url, "SELECT count(*) FROM audit_log WHERE id > %s", audit_mark)[0][0] > 0
