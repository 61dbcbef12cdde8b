"""An embedded PostgreSQL (the ``pgserver`` package) for the demo and the tests
when no server is configured."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL

from app.config import parse_database_url
from app.errors import BizgraphError

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

log = logging.getLogger("bizgraph.embedded")

# The logger pgserver reports on (initdb and pg_ctl runs, with their whole output) at INFO.
PGSERVER_LOGGER = "pgserver"


def _import_pgserver() -> Callable[..., PostgresServer]:
    """pgserver's ``get_server``. Imported late (only the demo and the tests need it),
    and without its one import-time warning: outside a login session (a container,
    CI, root over ssh) ``XDG_RUNTIME_DIR`` is unset or not private, and platformdirs
    warns while pgserver picks the per-user runtime directory it falls back on
    anyway (``/tmp/runtime-<uid>``, left traversable because pgserver, as root,
    runs PostgreSQL as another user). Nothing is wrong that bizgraph could fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from pgserver.postgres_server import get_server
    return get_server


class EmbeddedPostgres:
    """Starts (or reuses) a PostgreSQL server whose data lives in ``data_dir``."""

    def __init__(self, data_dir: Path, *, cleanup: str | None = "stop") -> None:
        self.data_dir = data_dir
        self._cleanup = cleanup
        self._server: PostgresServer | None = None

    @property
    def exists(self) -> bool:
        """True once ``initdb`` has made the cluster (a later start only starts it)."""
        return (self.data_dir / "PG_VERSION").exists()

    @property
    def server_log(self) -> Path:
        """Where PostgreSQL itself writes (pgserver's choice)."""
        return self.data_dir / "log"

    def start(self) -> EmbeddedPostgres:
        get_server = _import_pgserver()

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", self.data_dir)
        parents = _parent_modes(self.data_dir)
        try:
            self._server = get_server(self.data_dir, cleanup_mode=self._cleanup)
        except (subprocess.SubprocessError, OSError, AssertionError) as error:
            # pgserver has logged the command's output; the caller gets one line.
            raise BizgraphError(
                f"the embedded PostgreSQL in {self.data_dir} did not start: {_describe(error)}"
                f" (its own log: {self.server_log})"
            ) from error
        finally:
            _traverse_only(parents)
        return self

    def _started(self) -> PostgresServer:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return self._server

    def url(self, database: str = "postgres") -> URL:
        return parse_database_url(self._started().get_uri(database), "embedded database url")

    def create_database(self, name: str) -> URL:
        """Create ``name`` if it does not exist and return its URL."""
        server = self._started()
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{name}";')
        return self.url(name)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


# Group and others may pass through a folder (what the server's own user needs), not list it.
_TRAVERSE = stat.S_IXGRP | stat.S_IXOTH


def _parent_modes(data_dir: Path) -> dict[Path, int]:
    """As root, pgserver runs PostgreSQL as its own system user and makes every parent of the
    data directory readable and traversable by everyone (a home directory included): their
    modes before it does, so ``_traverse_only`` can take the reading back."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return {}
    return {parent: parent.stat().st_mode for parent in data_dir.resolve().parents}


def _traverse_only(before: dict[Path, int]) -> None:
    for parent, mode in before.items():
        with contextlib.suppress(OSError):
            parent.chmod(stat.S_IMODE(mode) | _TRAVERSE)


def _describe(error: BaseException) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        return f"{_program(error.cmd)} exited with status {error.returncode}"
    if isinstance(error, subprocess.TimeoutExpired):
        return f"{_program(error.cmd)} did not finish within {error.timeout:g} s"
    return str(error) or type(error).__name__


def _program(command: object) -> str:
    """``pg_ctl`` for ``['/…/bin/pg_ctl', '-D', …]`` (or for the same as one string)."""
    first = command[0] if isinstance(command, list | tuple) and command else str(command).split(" ")[0]
    return Path(str(first)).name
