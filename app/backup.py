"""``bizgraph backup`` and ``bizgraph restore``: a database to one file and back.

A backup is one ``pg_dump --format=custom`` archive: pg_dump reads every table in one snapshot,
so the archive is consistent while the server keeps writing. The schema's version travels inside
it: the ``alembic_version`` table is part of that snapshot, so the revision recorded is exactly
the one the dumped tables are at, and ``archive_revision`` reads it back without restoring.

A restore goes only into an empty database (a half-merged database is worse than none), checks
the archive's revision against this code's migrations first, and runs in one transaction: it
either lands whole or leaves the database empty. The tables force row-level security, so both
need a role that bypasses it (a superuser or ``BYPASSRLS``: the one that runs ``migrate``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL

from app.config import libpq_conninfo
from app.errors import BizgraphError
from app.migrations import code_revisions
from app.pg_tools import client_program

# The role the server's connections assume (alembic 0003): the archive's GRANTs name it, and it
# is a role of the cluster, not of the database, so a new cluster needs it before the restore.
APP_ROLE = "bizgraph_app"
ENSURE_APP_ROLE = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
    END IF;
END $$
"""

# What makes a database not empty: any relation or function outside PostgreSQL's own schemas.
USER_OBJECTS = """
SELECT n.nspname || '.' || c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT n.nspname || '.' || p.proname || '()'
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1
"""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    revision: str
    size: int


@dataclass(frozen=True)
class RestoreReport:
    revision: str
    head: str

    @property
    def advice(self) -> str | None:
        """What to do next when the restored schema is older than the code's."""
        if self.revision == self.head:
            return None
        return (
            f"the archive is at revision {self.revision} and this code's migrations at {self.head}:"
            " run `bizgraph migrate` before serving"
        )


def _connect(url: URL) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(libpq_conninfo(url), autocommit=True)


def _server_major(connection: psycopg.Connection[tuple[object, ...]]) -> int:
    row = connection.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(str(row[0])) // 10000


def _program_env(url: URL) -> tuple[str, dict[str, str]]:
    """The connection string without its password, and an environment that carries it (a password
    on a command line is visible to every user of the machine)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return libpq_conninfo(url.set(password=None)), env


def _run(command: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "error:" in line] or done.stderr.strip().splitlines()
        detail = errors[0].split("error:", 1)[-1].strip() if errors else f"exit status {done.returncode}"
        raise BizgraphError(f"{what} failed: {detail}")
    return done


def backup(url: URL, path: Path) -> BackupReport:
    """Writes the database at ``url`` to ``path`` (which must not exist yet)."""
    if path.exists():
        raise BizgraphError(f"{path} exists: name a new file (a backup never overwrites one)")
    with _connect(url) as connection:
        pg_dump = client_program("pg_dump", _server_major(connection))
    conninfo, env = _program_env(url)
    partial = path.with_name(path.name + ".partial")
    try:
        # Written aside and renamed once complete: a FILE that exists is a whole archive.
        _run([str(pg_dump), "--format=custom", "--no-password", f"--file={partial}", f"--dbname={conninfo}"], env,
             f"pg_dump of {url.database}")  # fmt: skip
        revision = archive_revision(partial, pg_dump.with_name("pg_restore"))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupReport(path, revision, path.stat().st_size)


def archive_revision(path: Path, pg_restore: Path) -> str:
    """The alembic revision inside an archive: its ``alembic_version`` row, read without restoring."""
    if not path.is_file():
        raise BizgraphError(f"{path} is not a file")
    done = _run([str(pg_restore), "--data-only", "--table=alembic_version", "--file=-", str(path)], dict(os.environ),
                f"reading {path}")  # fmt: skip
    lines = done.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and i + 1 < len(lines) and lines[i + 1] != "\\.":
            return lines[i + 1].strip()
    raise BizgraphError(f"{path} records no alembic revision: it is not a bizgraph backup")


def restore(url: URL, path: Path) -> RestoreReport:
    """Restores ``path`` into the empty database at ``url``."""
    with _connect(url) as connection:
        pg_restore = client_program("pg_restore", _server_major(connection))
        revision = archive_revision(path, pg_restore)
        head = _check_revision(revision, path)
        found = [str(row[0]) for row in connection.execute(USER_OBJECTS).fetchall()]
        if found:
            shown = ", ".join(found[:3]) + (", …" if len(found) > 3 else "")
            raise BizgraphError(
                f'the database "{url.database}" is not empty ({len(found)} objects: {shown}):'
                f" restore into a new one (createdb <name>, then DATABASE_URL naming it)"
            )
        connection.execute(ENSURE_APP_ROLE)
    conninfo, env = _program_env(url)
    # One transaction: the archive lands whole or not at all. Objects are owned by whoever
    # restores (the archive's owner names another cluster's roles); the GRANTs are kept.
    _run([str(pg_restore), "--exit-on-error", "--single-transaction", "--no-owner", "--no-password",
          f"--dbname={conninfo}", str(path)], env, f"restoring {path} into {url.database}")  # fmt: skip
    with _connect(url) as connection:
        connection.execute("ANALYZE")  # an archive carries no planner statistics
    return RestoreReport(revision, head)


def _check_revision(revision: str, path: Path) -> str:
    """This code's head revision, once ``revision`` is known to be one of its migrations."""
    head, known = code_revisions()
    if revision not in known:
        raise BizgraphError(
            f"{path} is at revision {revision}, which this code's migrations do not know (its head is {head}):"
            " restore it with the bizgraph version that made it, or upgrade bizgraph first"
        )
    return head
