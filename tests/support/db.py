"""Test databases on a real PostgreSQL: ``TEST_DATABASE_URL`` or an embedded server."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Collection
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL

from app.config import libpq_conninfo, parse_database_url
from app.embedded import EmbeddedPostgres
from tests.support.events import outbox_problems

_counter = itertools.count()


class TestServer:
    """One PostgreSQL server for the whole run; each test module asks it for databases."""

    def __init__(self) -> None:
        self._embedded: EmbeddedPostgres | None = None
        raw = os.environ.get("TEST_DATABASE_URL")
        if raw:
            self.admin_url = parse_database_url(raw, "TEST_DATABASE_URL")
        else:
            data_dir = Path(tempfile.gettempdir()) / f"bizgraph-test-pg-{os.getuid()}"
            self._embedded = EmbeddedPostgres(data_dir / "pgdata").start()
            self.admin_url = self._embedded.url("postgres")

    def _admin_conninfo(self) -> str:
        return conninfo(self.admin_url)

    def create_database(self, prefix: str = "bizgraph_test") -> URL:
        name = f"{prefix}_{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self._admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url.set(database=name)

    def drop_database(self, url: URL) -> None:
        """Drops the database, after holding every event the tests left in its
        outbox against the event catalog: an undeclared event, or a payload that
        strays from its declared type, fails the run here."""
        try:
            problems = outbox_problems(conninfo(url))
        finally:
            with psycopg.connect(self._admin_conninfo(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        assert not problems, f"events in {url.database} that the event catalog does not declare:\n" + "\n".join(
            problems
        )

    def stop(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()


conninfo = libpq_conninfo


def app_backends(url: URL | str, *, listener_too: bool = False) -> set[int]:
    """The server processes of the application's connections to ``url``'s database (its pools';
    the change listener's too when asked)."""
    names = ["bizgraph", "bizgraph-listener"] if listener_too else ["bizgraph"]
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = ANY(%s) AND pid <> pg_backend_pid()",
            (names,),
        ).fetchall()
    return {pid for (pid,) in rows}


def terminate_app_connections(
    url: URL | str, *, listener_too: bool = False, sparing: Collection[int] = frozenset()
) -> int:
    """Ends the application's connections to ``url``'s database (but those of ``sparing``: other
    apps' that later tests share), as a database restart would; how many were ended."""
    ended = 0
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        for pid in app_backends(url, listener_too=listener_too) - set(sparing):
            row = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
            ended += bool(row and row[0])
    return ended
