"""``run_seed``: refuse or reset, generate while loading, rebuild, all in one transaction."""

from __future__ import annotations

import time

import psycopg
from sqlalchemy.engine import URL

from app.config import libpq_conninfo
from app.errors import BizgraphError
from app.seed import bulk
from app.seed.activity import record_history
from app.seed.copy import CopyIn
from app.seed.generate import TABLES, generate, work_units
from app.seed.progress import Progress
from app.seed.report import SeedReport
from app.seed.scales import scale_named

# Two seeds at once would both see an empty database; the second waits for the first.
LOCK_KEY = 0x5EED


class SeedRefused(BizgraphError):
    """The database already has data and the caller did not ask to replace it."""

    code = "SEED_REFUSED"


def is_seeded(url: URL) -> bool:
    """True when any organization exists."""
    with psycopg.connect(libpq_conninfo(url)) as conn:
        row = conn.execute("SELECT EXISTS (SELECT FROM organizations)").fetchone()  # always one row
        return row is not None and bool(row[0])


def run_seed(url: URL, *, scale: str, seed: int, reset: bool, progress: bool) -> SeedReport:
    size = scale_named(scale)
    report = SeedReport(scale=size.name, seed=seed)
    bars = Progress(progress)
    # One transaction: a failure (or Ctrl-C) anywhere leaves the database as it was.
    with psycopg.connect(libpq_conninfo(url)) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        tables = bulk.business_tables(conn)
        found = bulk.nonempty_tables(conn, tables)
        if found and not reset:
            shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
            raise SeedRefused(
                f"the database already has data (in {shown}); pass --reset to delete all business data and seed again"
            )
        # Emptying the tables in this transaction is what lets COPY freeze the rows.
        bulk.truncate(conn, tables)
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        loaded = [table for table, _ in TABLES]
        statements = bulk.set_aside(conn, loaded)
        # Rows stream to COPY in batches as they are generated, so memory stays bounded
        # whatever the scale; the report still splits generating from loading.
        copy_in = CopyIn(conn)
        started = time.perf_counter()
        with bars.bar("generating and loading", work_units(size), "steps") as advance:
            data = generate(size, seed, advance, sink=copy_in)
        report.record("generate", time.perf_counter() - started - copy_in.seconds)
        report.record("load", copy_in.seconds)
        report.counts = data.counts()
        with report.phase("indexes"), bars.bar("indexes and keys", len(statements), "steps") as advance:
            bulk.restore(conn, statements, advance)
            bulk.advance_identities(conn, loaded)
        with report.phase("history"):
            record_history(conn)
        with report.phase("analyze"):
            bulk.analyze(conn, tables)
    return report
