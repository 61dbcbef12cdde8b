"""``python -m bench``: load a running bizgraph server, compare with the SQL floor, print Markdown.

Progress goes to stderr; the report (header and tables) to stdout, so
``python -m bench > result.md`` keeps just the result.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shlex
import subprocess
import sys

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench import cells, explain, floor, load, machine, report, statements, workloads
from bench.auth import demo_email, demo_token, visible_customers
from bench.preflight import preflight
from bench.report import WorkloadResult, progress

DEFAULT_URL = "http://127.0.0.1:8000/graphql"
TABLES = ("customers", "products", "orders", "order_lines", "invoices", "payments", "employees")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"the running server's GraphQL endpoint (default {DEFAULT_URL})"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="the server's database, for the floor and the data scale (default: $DATABASE_URL)",
    )
    parser.add_argument("--workloads", default="Q1,Q2,Q3,Q4", help="comma-separated subset of Q1,Q2,Q3,Q4")
    parser.add_argument("--concurrency", default="16,64", help="comma-separated connection counts (default 16,64)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per cell (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unrecorded seconds before each cell (default 2)")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="close a cell's window after this many requests"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before one request counts as failed")
    parser.add_argument("--sample", type=int, default=1000, help="how many customer ids Q1 cycles through")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each cell, wait up to this many seconds for an idle machine (0: don't wait)",
    )
    parser.add_argument(
        "--retries", type=int, default=1, help="measure a cell again when other work used ≥ 0.2 cores (default 1)"
    )
    parser.add_argument(
        "--as",
        dest="principal",
        default="admin",
        metavar="ROLE_OR_EMAIL",
        help="the demo user to act as: a role (admin, finance, sales, hr, manager, employee, analyst, customer)"
        " of the measured organization, or an email (default admin)",
    )
    parser.add_argument(
        "--token", help="access token to send (default: the --as user's, from the server's /oauth/token)"
    )
    parser.add_argument("--no-floor", action="store_true", help="measure bizgraph only")
    parser.add_argument("--no-statements", action="store_true", help="skip the in-process statement count")
    parser.add_argument("--no-explain", action="store_true", help="skip EXPLAIN ANALYZE of both SQL texts")
    parser.add_argument("--show-plans", action="store_true", help="print both EXPLAIN ANALYZE plans per workload")
    args = parser.parse_args(argv)
    args.token_given = bool(args.token)
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url (the database the server serves)")
    args.workload_keys = [k.strip().upper() for k in args.workloads.split(",") if k.strip()]
    unknown = [k for k in args.workload_keys if k not in workloads.ALL]
    if unknown:
        parser.error(f"unknown workloads {unknown}: choose from {', '.join(workloads.ALL)}")
    args.concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not args.concurrencies or min(args.concurrencies) < 1:
        parser.error("--concurrency needs positive numbers")
    return args


def data_scale(dsn: str, org_id: int) -> tuple[str, dict[str, str]]:
    with psycopg.connect(dsn, **floor.SESSION) as conn:
        parts = []
        for table in TABLES:
            total, mine = conn.execute(
                f"SELECT count(*), count(*) FILTER (WHERE org_id = %s) FROM {table}", (org_id,)
            ).fetchone()
            parts.append(f"{table} {mine:,} ({total:,})")
        settings = dict(
            conn.execute(
                "SELECT name, setting || coalesce(unit, '') FROM pg_settings"
                " WHERE name IN ('server_version', 'shared_buffers', 'max_connections', 'jit')"
            ).fetchall()
        )
    return ", ".join(parts), settings


def free_connections(dsn: str) -> int:
    with psycopg.connect(dsn, **floor.SESSION) as conn:
        return conn.execute(
            "SELECT current_setting('max_connections')::int - count(*)"
            " FROM pg_stat_activity WHERE backend_type = 'client backend'"
        ).fetchone()[0]


def code_version() -> str:
    """The checkout's commit: statement counts come from this code, not from the running server's."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "") if head else "unknown"


def find_parties(url: str, dsn: str) -> machine.Parties:
    """The server and postmaster processes, by the local ports they listen on."""
    _, server_port, _ = load.check_loopback(url)
    db = conninfo_parts(dsn)
    local_db = db.get("host", "localhost") in ("localhost", "127.0.0.1", "::1") or db.get("host", "").startswith("/")
    postgres = machine.listening_pid(int(db.get("port") or 5432)) if local_db else None
    return machine.Parties(server=machine.listening_pid(server_port), postgres=postgres)


def conninfo_parts(dsn: str) -> dict[str, str]:
    return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}


async def run(args: argparse.Namespace) -> int:
    dsn = floor.conninfo(args.database_url)
    load.check_loopback(args.url)
    progress("reading the data context")
    ctx = workloads.load_context(dsn, args.sample)
    scale, pg = data_scale(dsn, ctx.org_id)
    email = demo_email(args.principal, ctx.org_slug)
    if not args.token:
        progress(f"asking the server for {email}'s access token")
        args.token = demo_token(args.url, email)
    # Q1 reads customers the principal can see: otherwise a scoped role only measures NOT_FOUND.
    progress(f"listing the customers {email} can see, through the API")
    visible, cut = visible_customers(args.url, args.token)
    with psycopg.connect(dsn, **floor.SESSION) as conn:
        sample = workloads.sample_customers(conn, ctx.org_id, args.sample, among=visible)
    if not sample:
        progress(f"{email} sees no customer: Q1 falls back to the organization's sample (expect null answers)")
    else:
        ctx = dataclasses.replace(ctx, customer_ids=sample)
    results = [WorkloadResult(w) for w in workloads.build(args.workload_keys, ctx)]

    for result in results:
        await preflight(args, dsn, result)
    live = [r for r in results if not r.skipped]

    if not args.no_statements and live:
        progress("counting SQL statements and round trips in-process")
        counts = await statements.count(args.database_url, [r.workload for r in live], email)
        for r in live:
            r.statements = counts.get(r.workload.key)
    if not args.no_explain:
        progress("EXPLAIN ANALYZE of bizgraph's SQL and the floor's")
        for r in live:
            if r.statements and r.statements.sql:
                r.server_sql = explain.explain_statements(dsn, r.statements.sql, ctx.org_id)
            # The floor with the same parameters as bizgraph's kept statement (Q1: the same customer).
            params = r.workload.floor_params[statements.last_variant(r.workload)]
            r.floor_sql = explain.explain(dsn, r.workload.floor_sql, params)

    needed = max(args.concurrencies)
    if not args.no_floor and free_connections(dsn) < needed + 5:
        progress(f"warning: fewer than {needed + 5} free PostgreSQL connections; the floor pool may not open")
    parties = find_parties(args.url, dsn)
    if parties.server is None or parties.postgres is None:
        progress("could not find the server's or PostgreSQL's process: their CPU columns show '–'")
    await cells.measure(args, dsn, results, parties)

    out = [
        "# bizgraph benchmark",
        "",
        f"- machine: {machine.describe()}",
        f"- PostgreSQL: {pg.get('server_version')} (shared_buffers {pg.get('shared_buffers')},"
        f" max_connections {pg.get('max_connections')}, jit {pg.get('jit')}), same machine",
        f"- server: {args.url}; statement counts from this checkout's code: {code_version()}"
        " (restart the server after the code changes, or the two disagree)",
        f"- data: demo organization '{ctx.org_slug}' (id {ctx.org_id}, {ctx.time_zone});"
        f" rows in it (all orgs): {scale}",
        f"- principal: {email}"
        f"{' (requests carry --token; statement counts and plans are this user’s)' if args.token_given else ''};"
        f" sees {len(visible):,}{'+' if cut else ''} customers;"
        f" Q1 cycles over {len(ctx.customer_ids):,} of them (md5 order)",
        "- floor: the hand-written SQL as the organization's admin sees the data (no row scope, every field),"
        " whoever the principal; bizgraph's plans are EXPLAINed as the server's database role under"
        " row-level security",
        f"- Q4 window: placed_at ≥ {ctx.since.isoformat()} (newest order {ctx.latest.isoformat()})",
        f"- command: `{shlex.join(sys.orig_argv)}`",
        f"- each cell: {args.warmup:g} s warm-up, then {args.duration:g} s measured (≤ {args.max_requests:,} requests);"
        " closed loop, one request in flight per connection; latencies are per request, client side",
        "",
        *report.main_table(results, args.concurrencies),
        "",
        *report.detail_table(results),
        "",
    ]
    bound = report.bottleneck_notes(results)
    if bound:
        out += ["Client-bound cells:", "", *bound, ""]
    busy = report.interference_notes(results)
    if busy:
        out += ["Cells disturbed by other work on the machine (numbers less trustworthy):", "", *busy, ""]
    notes = report.wire_notes(results)
    if notes:
        out += ["Round trips of one bizgraph request, as seen on the wire:", "", *notes, ""]
    if args.show_plans:
        for r in live:
            for label, timing in (("bizgraph", r.server_sql), ("floor", r.floor_sql)):
                if timing:
                    out += [f"### {r.workload.key} {label} plan", "", "```", timing.plan, "```", ""]
    print("\n".join(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130
