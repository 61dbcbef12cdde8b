"""What customer emails cost: the invoice PDF's render time, and emails a second for one
dispatcher pass (invoice emails, each with its PDF attached) into an SMTP server in process.

On demand, never in the suite. It creates a database on the server ``--admin-url`` names,
migrates and seeds it (tiny), adds ``--emails`` ``invoice.issued`` events of issued invoices
to acme's outbox, and drops the database at the end::

    .venv/bin/python -m bench.emails --admin-url postgresql://postgres@127.0.0.1:5432/postgres --emails 500

The SMTP server (aiosmtpd) runs in this process, on the same cores as the dispatcher and
PostgreSQL: the figures are a floor, not what a remote mail relay would allow.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import psycopg

from app.config import Settings, libpq_conninfo, parse_database_url
from app.db import Database
from app.documents import load_invoice_document, render_invoice_pdf
from app.migrations import upgrade
from app.notifications import EmailDispatcher, SmtpSettings
from app.seed import run_seed
from bench.machine import describe
from tests.support.smtp import SmtpSink

DATABASE = "bizgraph_bench_emails"
_EVENTS = """
INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload)
SELECT i.org_id, 'invoice.issued', 'Invoice', i.id,
       jsonb_build_object('number', i.number, 'orderId', '', 'total', i.total::text)
FROM invoices i JOIN customers c ON c.id = i.customer_id
WHERE i.org_id = 1 AND i.status <> 'draft' AND c.email IS NOT NULL ORDER BY i.id LIMIT %s
"""
# Back to due, for the next pass: the same emails again.
_AGAIN = (
    "DELETE FROM email_attempts WHERE delivery_id IN (SELECT id FROM email_deliveries WHERE attempts > 0"
    " AND created_at > now() - interval '1 hour')",
    "UPDATE email_deliveries SET status = 'pending', attempts = 0, sent_at = NULL, next_attempt_at = now()"
    " WHERE created_at > now() - interval '1 hour'",
)


async def measure(settings: Settings, emails: int) -> None:
    database = Database(settings)
    try:
        async with database.read_as(1) as connection:
            ids = await connection.exec_driver_sql(
                "SELECT id FROM invoices WHERE org_id = 1 AND status <> 'draft' ORDER BY id LIMIT 50"
            )
            took = []
            for (invoice_id,) in ids.all():
                document = await load_invoice_document(connection, 1, invoice_id)
                assert document is not None
                started = time.perf_counter()
                render_invoice_pdf(document)
                took.append((time.perf_counter() - started) * 1000)
        print(f"invoice PDF: median {statistics.median(took):.1f} ms, max {max(took):.1f} ms ({len(took)} invoices)")
        sink = SmtpSink()
        sink.start()
        try:
            for concurrency in (1, 4):
                with psycopg.connect(libpq_conninfo(settings.database_url)) as owner:
                    for statement in _AGAIN:
                        owner.execute(statement)
                dispatcher = EmailDispatcher(
                    database,
                    SmtpSettings(sink.host, sink.port),
                    default_from="b@x.example.com",
                    concurrency=concurrency,
                )
                started = time.perf_counter()
                sent = await dispatcher.run_once()
                seconds = time.perf_counter() - started
                print(f"one pass, concurrency {concurrency}: {sent} emails in {seconds:.2f} s, {sent / seconds:.0f}/s")
        finally:
            sink.stop()
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--admin-url", required=True, help="a superuser's URL of the PostgreSQL server to use")
    parser.add_argument("--emails", type=int, default=500, help="invoice emails to send (default 500)")
    args = parser.parse_args()
    admin = parse_database_url(args.admin_url, "--admin-url")
    with psycopg.connect(libpq_conninfo(admin), autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        server.execute(f"CREATE DATABASE {DATABASE}")
    url = admin.set(database=DATABASE)
    try:
        upgrade(url)
        run_seed(url, scale="tiny", seed=7, reset=False, progress=False)
        with psycopg.connect(libpq_conninfo(url)) as owner:
            owner.execute(_EVENTS, (args.emails,))
        print(describe())
        asyncio.run(measure(Settings().with_database(url), args.emails))
    finally:
        with psycopg.connect(libpq_conninfo(admin), autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS {DATABASE}")


if __name__ == "__main__":
    main()
