"""Given a migrated database, when an operator runs ``bizgraph operations push manifest.json``,
then the manifest's operations are stored by the SHA-256 of their text, once, after being
checked against the schema and the limits; ``bizgraph operations list`` prints them. A bad
manifest stores nothing and says why in one ``bizgraph:`` message, exit 2."""

from __future__ import annotations

import hashlib
import subprocess

import orjson
import psycopg
import pytest

from app.migrations import downgrade, upgrade
from tests.support.db import conninfo

ORDERS = "query RecentOrders($first: Int) { orders(first: $first) { totalCount } }"
CUSTOMER = 'query OneCustomer { customer(id: "Q3VzdG9tZXI6MQ==") { name } }'
RENAME = 'mutation Rename { updateCustomer(input: {id: "x", version: 1, name: "y"}) { errors { code } } }'


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apollo(*operations: tuple[str, str, str]) -> dict:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha256(body), "name": name, "type": kind, "body": body} for name, kind, body in operations
        ],
    }


@pytest.fixture
def database(fresh_database):
    url = fresh_database()
    upgrade(url)
    return url


@pytest.fixture
def bizgraph(database, monkeypatch, capsys, tmp_path):
    """``bizgraph`` in this process, a manifest written to a file first: (exit code, stdout, stderr)."""
    from app.cli import main

    monkeypatch.setenv("DATABASE_URL", conninfo(database))

    def run(*args: str, manifest: object = None) -> subprocess.CompletedProcess:
        if manifest is not None:
            path = tmp_path / "manifest.json"
            path.write_bytes(orjson.dumps(manifest))
            args = (*args, str(path))
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse's usage errors
            code = exit.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    return run


def stored(url) -> dict[str, tuple[str | None, str, str]]:
    with psycopg.connect(conninfo(url)) as conn:
        rows = conn.execute("SELECT sha256, operation_name, operation_type, document FROM stored_operations").fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_a_relay_manifest_is_stored_once_and_listed(bizgraph, database):
    manifest = {sha256(ORDERS): ORDERS, sha256(CUSTOMER): CUSTOMER}
    first = bizgraph("operations", "push", manifest=manifest)
    assert first.returncode == 0, first.stderr
    assert "2 operation(s), 2 newly stored, 0 already stored" in first.stdout
    assert stored(database) == {
        sha256(ORDERS): ("RecentOrders", "query", ORDERS),
        sha256(CUSTOMER): ("OneCustomer", "query", CUSTOMER),
    }

    again = bizgraph("operations", "push", manifest=manifest)
    assert "2 operation(s), 0 newly stored, 2 already stored" in again.stdout
    assert len(stored(database)) == 2

    listing = bizgraph("operations", "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [
        [sha256(CUSTOMER), "query", "OneCustomer"],
        [sha256(ORDERS), "query", "RecentOrders"],
    ]


def test_an_apollo_manifest_is_stored_with_its_mutations(bizgraph, database):
    result = bizgraph(
        "operations", "push", manifest=apollo(("RecentOrders", "query", ORDERS), ("Rename", "mutation", RENAME))
    )
    assert result.returncode == 0, result.stderr
    assert stored(database)[sha256(RENAME)] == ("Rename", "mutation", RENAME)


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ({"0" * 64: ORDERS}, "is not the SHA-256 of the document"),
        ({sha256("{ nope }"): "{ nope }"}, "Cannot query field 'nope'"),
        ({sha256("{ customers("): "{ customers("}, "Syntax Error"),
        ({sha256(ORDERS + CUSTOMER): ORDERS + CUSTOMER}, "defines exactly one operation, this one 2"),
        (apollo(("Other", "query", ORDERS)), "the manifest says query 'Other', the document is query 'RecentOrders'"),
        (apollo(("RecentOrders", "mutation", ORDERS)), "the manifest says mutation"),
    ],
    ids=["wrong id", "invalid", "syntax", "two operations", "apollo name", "apollo type"],
)
def test_a_bad_entry_stores_nothing(bizgraph, database, manifest, reason):
    # The good entry beside the bad one is not stored either: all or nothing.
    if "operations" in manifest:
        manifest["operations"].append(
            {"id": sha256(CUSTOMER), "name": "OneCustomer", "type": "query", "body": CUSTOMER}
        )
    else:
        manifest = {**manifest, sha256(CUSTOMER): CUSTOMER}
    result = bizgraph("operations", "push", manifest=manifest)
    assert result.returncode == 2
    assert result.stderr.startswith("bizgraph: nothing stored:") and reason in result.stderr, result.stderr
    assert stored(database) == {}


def test_documents_over_a_limit_are_refused(bizgraph, database, monkeypatch):
    monkeypatch.setenv("BIZGRAPH_MAX_ALIASES", "1")
    document = "{ a: customers(first: 1) { totalCount } b: products(first: 1) { totalCount } }"
    result = bizgraph("operations", "push", manifest={sha256(document): document})
    assert result.returncode == 2 and "BIZGRAPH_MAX_ALIASES" in result.stderr, result.stderr
    assert stored(database) == {}


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ([ORDERS], "a manifest is a JSON object"),
        ({"x": 1}, "a Relay manifest maps ids to document strings"),
        ({"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}, "only version 1"),
        ({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "x"}]}, "needs the strings"),
    ],
)
def test_a_malformed_manifest_is_one_line(bizgraph, manifest, reason):
    result = bizgraph("operations", "push", manifest=manifest)
    assert result.returncode == 2 and reason in result.stderr, result.stderr


def test_a_missing_or_non_json_file_is_one_line(bizgraph, tmp_path):
    missing = bizgraph("operations", "push", str(tmp_path / "absent.json"))
    assert missing.returncode == 2 and missing.stderr.startswith("bizgraph: cannot read")
    (tmp_path / "bad.json").write_text("{")
    bad = bizgraph("operations", "push", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "is not JSON" in bad.stderr


def test_the_table_keeps_only_documents_under_their_own_hash(database):
    with psycopg.connect(conninfo(database)) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO stored_operations (sha256, document, operation_type) VALUES (%s, %s, 'query')",
            (sha256(ORDERS), CUSTOMER),
        )


def test_the_servers_role_may_read_stored_operations_but_not_change_them(database, bizgraph):
    bizgraph("operations", "push", manifest={sha256(ORDERS): ORDERS})
    with psycopg.connect(conninfo(database)) as conn:
        conn.execute("SET ROLE bizgraph_app")
        assert conn.execute("SELECT count(*) FROM stored_operations").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM stored_operations")


def test_downgrading_0007_drops_the_table_and_upgrading_restores_it(database):
    downgrade(database, "0006")
    with psycopg.connect(conninfo(database)) as conn:
        assert conn.execute("SELECT to_regclass('stored_operations')").fetchone() == (None,)
    upgrade(database)
    with psycopg.connect(conninfo(database)) as conn:
        assert conn.execute("SELECT to_regclass('stored_operations')").fetchone() == ("stored_operations",)


def test_seeding_neither_refuses_over_stored_operations_nor_empties_them(database, bizgraph):
    from app.seed import run_seed

    bizgraph("operations", "push", manifest={sha256(ORDERS): ORDERS})
    run_seed(database, scale="tiny", seed=1, reset=False, progress=False)
    run_seed(database, scale="tiny", seed=2, reset=True, progress=False)
    assert list(stored(database)) == [sha256(ORDERS)]
