"""An embedded PostgreSQL (the ``pgserver`` package) for the demo and the tests
when no server is configured."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import URL

from app.config import parse_database_url

log = logging.getLogger("bizgraph.embedded")


class EmbeddedPostgres:
    """Starts (or reuses) a PostgreSQL server whose data lives in ``data_dir``."""

    def __init__(self, data_dir: Path, *, cleanup: str | None = "stop") -> None:
        self.data_dir = data_dir
        self._cleanup = cleanup
        self._server = None

    def start(self) -> "EmbeddedPostgres":
        import pgserver  # imported late: only the demo and tests need it

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", self.data_dir)
        self._server = pgserver.get_server(self.data_dir, cleanup_mode=self._cleanup)
        return self

    def url(self, database: str = "postgres") -> URL:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return parse_database_url(self._server.get_uri(database), "embedded database url")

    def create_database(self, name: str) -> URL:
        """Create ``name`` if it does not exist and return its URL."""
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{name}";')
        return self.url(name)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
