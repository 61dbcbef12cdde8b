"""Given a seeded bizgraph database, when ``bizgraph backup`` writes it and ``bizgraph restore``
puts it into a new database, then every table has the same rows (count and checksum, ordered by
primary key), every sequence the same position, and the server answers from the copy; a restore
refuses a database that is not empty, and an archive whose revision the code does not know."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from app.backup import archive_revision
from app.cli import main
from app.config import Settings
from app.migrations import code_revisions, upgrade
from app.pg_tools import client_program
from tests.support.auth import token_for_user
from tests.support.graphql import data, running_app, sql

TABLES = """
SELECT c.relname,
       coalesce((SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
                   FROM pg_index i
                   CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                  WHERE i.indrelid = c.oid AND i.indisprimary), 't::text')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
 ORDER BY 1
"""


def fingerprint(url: URL) -> dict[str, tuple]:
    """Per table: row count and the md5 of its rows in primary-key order; per sequence: its position."""
    found: dict[str, tuple] = {}
    for table, order in sql(url, TABLES):
        found[table] = sql(
            url, f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')) FROM {table} t"
        )[0]
    for (sequence,) in sql(url, "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
        found[f"sequence {sequence}"] = sql(url, f"SELECT last_value, is_called FROM {sequence}")[0]
    return found


@pytest.fixture
def cli_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Point the CLI at a database, as DATABASE_URL does."""
    monkeypatch.setenv("BIZGRAPH_DATA_DIR", str(tmp_path / "data"))

    def point(url: URL) -> None:
        monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))

    return point


def _err_line(capsys: pytest.CaptureFixture[str]) -> str:
    _, err = capsys.readouterr()
    [line] = err.splitlines()
    assert "Traceback" not in err
    return line


async def test_a_backup_restores_into_a_new_database_with_every_row(
    seeded_url: URL, fresh_database, cli_database, demo_settings: Settings, tmp_path: Path, capsys
) -> None:
    archive = tmp_path / "bizgraph.dump"
    cli_database(seeded_url)
    assert main(["backup", str(archive)]) == 0
    head, _ = code_revisions()
    assert f"(alembic revision {head})" in capsys.readouterr().out
    assert archive_revision(archive, client_program("pg_restore", _major(seeded_url))) == head

    copy = fresh_database()
    cli_database(copy)
    assert main(["restore", str(archive)]) == 0
    out, err = capsys.readouterr()
    assert f"alembic revision {head}" in out and err == ""

    source, restored = fingerprint(seeded_url), fingerprint(copy)
    assert len([t for t in source if not t.startswith("sequence")]) >= 15 and source["orders"][0] > 0
    assert restored == source

    # The server runs on the copy as it did on the original: roles, grants and row-level security came along.
    settings = replace(demo_settings, database_url=copy)
    admin = token_for_user(settings, "admin@acme.example")
    async with running_app(settings) as (_, client):
        answer = await data(client, "{ orders(first: 1) { totalCount } }", token=admin)
    expected = sql(
        seeded_url, "SELECT count(*) FROM orders WHERE org_id = (SELECT id FROM organizations WHERE slug = 'acme')"
    )
    assert answer["orders"]["totalCount"] == expected[0][0]

    # A second restore into the now full copy is refused, and changes nothing.
    assert main(["restore", str(archive)]) == 2
    line = _err_line(capsys)
    assert f'the database "{copy.database}" is not empty' in line and "createdb" in line, line
    assert fingerprint(copy) == source

    # A backup never overwrites a file.
    cli_database(seeded_url)
    assert main(["backup", str(archive)]) == 2
    assert "exists" in _err_line(capsys)


def _major(url: URL) -> int:
    return int(sql(url, "SHOW server_version_num")[0][0]) // 10000


def test_an_older_archive_restores_and_says_to_migrate(fresh_database, cli_database, tmp_path: Path, capsys) -> None:
    old = fresh_database()
    upgrade(old, "0008")
    archive = tmp_path / "old.dump"
    cli_database(old)
    assert main(["backup", str(archive)]) == 0
    capsys.readouterr()

    target = fresh_database()
    cli_database(target)
    assert main(["restore", str(archive)]) == 0
    line = _err_line(capsys)
    head, _ = code_revisions()
    assert f"at revision 0008 and this code's migrations at {head}: run `bizgraph migrate`" in line, line
    assert main(["migrate"]) == 0
    assert sql(target, "SELECT version_num FROM alembic_version") == [(head,)]


def test_an_archive_from_unknown_migrations_is_refused_before_anything_changes(
    fresh_database, cli_database, tmp_path: Path, capsys
) -> None:
    newer = fresh_database()
    upgrade(newer)
    sql(newer, "UPDATE alembic_version SET version_num = '9999' RETURNING 1")
    archive = tmp_path / "newer.dump"
    cli_database(newer)
    assert main(["backup", str(archive)]) == 0
    capsys.readouterr()

    target = fresh_database()
    cli_database(target)
    assert main(["restore", str(archive)]) == 2
    line = _err_line(capsys)
    assert "revision 9999, which this code's migrations do not know" in line, line
    assert sql(target, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace") == [(0,)]

    # Not an archive at all: one line too.
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not an archive")
    assert main(["restore", str(junk)]) == 2
    assert "reading" in _err_line(capsys)
