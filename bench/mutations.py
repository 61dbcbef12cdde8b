"""``python -m bench.mutations``: mutation throughput and latency of a running bizgraph server.

Cells: ``placeOrder`` of 5-line drafts, ``recordPayment`` spread over many
invoices, and ``recordPayment`` on one hot invoice, each at the given
concurrencies; closed loop over raw keep-alive HTTP (``bench.load``). Every
measured request is a real mutation; an answer whose payload has errors counts
as an error. After each cell the database must hold exactly as many new
placements or payments as there were successful requests.

**The bench changes its database** (more stock and credit, new drafts, orders,
payments, audit rows and events): point it at a database made for it.
Progress goes to stderr; the Markdown report to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import math
import os
import shlex
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from bench import cells, floor, load, machine, mutation_count, mutation_report, mutation_setup, report
from bench.auth import demo_email, demo_token
from bench.load import HttpConnection, Measurement, check_loopback, closed_loop, graphql_request
from bench.mutation_report import TITLES, CellResult, CellRun
from bench.mutation_setup import Draft, DraftMaker, Setup, WaitProfile, WaitSampler
from bench.report import progress
from bench.run import code_version, data_scale, find_parties
from bench.workloads import global_id

DEFAULT_URL = "http://127.0.0.1:8000/graphql"
CELLS = ("place", "pay-spread", "pay-hot")
PLACE_ORDER = (
    "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {"
    " order { id status } errors { code field message } } }"
)
RECORD_PAYMENT = (
    "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { payment { id } errors { code } } }"
)
PROBE_DRAFTS_PER_CONNECTION = 20


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.mutations", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"the running server's GraphQL endpoint (default {DEFAULT_URL})"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="the server's database, which the bench changes (default: $DATABASE_URL)",
    )
    parser.add_argument("--cells", default=",".join(CELLS), help=f"comma-separated subset of {','.join(CELLS)}")
    parser.add_argument("--concurrency", default="16", help="comma-separated connection counts (default 16)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per cell (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unrecorded seconds before each cell (default 2)")
    parser.add_argument("--runs", type=int, default=1, help="measure every cell this many times; medians reported")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="close a cell's window after this many requests"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before one request counts as failed")
    parser.add_argument(
        "--drafts-factor",
        type=float,
        default=1.5,
        help="drafts created per placeOrder cell: this × the probed rate × (warm-up + duration) (default 1.5)",
    )
    parser.add_argument("--invoices", type=int, default=1000, help="open invoices the spread payment cell cycles over")
    parser.add_argument("--customers", type=int, default=1000, help="active customers the drafts cycle over")
    parser.add_argument("--amount", default="0.01", help="amount of each payment (default 0.01)")
    parser.add_argument(
        "--quiet-wait", type=float, default=30.0, help="before each cell, wait up to this long for an idle machine"
    )
    parser.add_argument("--retries", type=int, default=1, help="measure a cell again when other work used ≥ 0.2 cores")
    parser.add_argument(
        "--as",
        dest="principal",
        default="admin",
        metavar="ROLE_OR_EMAIL",
        help="the demo user to act as: a role of the measured organization or an email (default admin)",
    )
    parser.add_argument("--no-statements", action="store_true", help="skip the in-process statement count")
    parser.add_argument(
        "--sample-interval", type=float, default=0.1, help="seconds between pg_stat_activity samples (0: off)"
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url (the database the server serves)")
    args.cell_keys = [k.strip() for k in args.cells.split(",") if k.strip()]
    unknown = [k for k in args.cell_keys if k not in CELLS]
    if unknown:
        parser.error(f"unknown cells {unknown}: choose from {', '.join(CELLS)}")
    args.concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not args.concurrencies or min(args.concurrencies) < 1 or args.runs < 1:
        parser.error("--concurrency and --runs need positive numbers")
    args.amount_value = Decimal(args.amount)
    return args


# -- one cell ------------------------------------------------------------------------


class Counter:
    """Requests handed out and requests that succeeded, over warm-up and window."""

    def __init__(self) -> None:
        self.taken = 0
        self.ok = 0


def good(status: int, body: bytes) -> bool:
    # A payload answers `"errors":[]` when the mutation did its work; a refusal
    # fills that list, and a GraphQL error adds a top-level "errors" key.
    return status == 200 and b'"errors":[]' in body and body.count(b'"errors"') == 1


async def load_cell(
    args: argparse.Namespace,
    concurrency: int,
    request_for: Callable[[int], bytes | None],
    counter: Counter,
    parties: machine.Parties,
    dsn: str,
    available: int | None = None,
) -> tuple[Measurement, WaitProfile, str]:
    """Warm-up, then the measured window, over the same ``concurrency`` connections.

    ``request_for(n)`` builds the n-th request of the cell (warm-up included);
    with ``available`` (drafts), the window is capped so that no request runs out."""
    host, port, _ = check_loopback(args.url)
    connections = [HttpConnection(host, port, args.timeout) for _ in range(concurrency)]

    def operation(connection: HttpConnection) -> load.Operation:
        async def op(_: int) -> tuple[bool, int]:
            n = counter.taken
            counter.taken += 1
            request = request_for(n)
            if request is None:
                raise RuntimeError("no draft left")
            status, body = await connection.exchange(request)
            ok = good(status, body)
            counter.ok += ok
            return ok, len(body)

        return op

    operations = [operation(c) for c in connections]
    note = ""
    try:
        if args.warmup > 0:
            # Its own closed loop, so that what the window may still use is known when it opens;
            # a worker in flight when either loop closes finishes its request (≤ concurrency − 1 more).
            cap = args.max_requests if available is None else max(1, available - concurrency + 1)
            await closed_loop(operations, 0.0, args.warmup, cap, parties)
        cap = args.max_requests
        if available is not None:
            cap = min(cap, max(1, available - counter.taken - concurrency + 1))
        sampler = WaitSampler(dsn, args.sample_interval) if args.sample_interval > 0 else None
        if sampler:
            await sampler.start()
        try:
            m = await closed_loop(operations, 0.0, args.duration, cap, parties)
        finally:
            waits = await sampler.stop() if sampler else WaitProfile()
        if m.capped:
            why = "drafts" if available is not None and cap < args.max_requests else "--max-requests"
            note = f"window closed early after {m.seconds:.1f} s: capped at {cap:,} requests ({why})"
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    return m, waits, note


async def measure_place(
    args: argparse.Namespace,
    dsn: str,
    setup: Setup,
    maker: DraftMaker,
    parties: machine.Parties,
    concurrency: int,
    rate: float,
    email: str,
) -> CellRun:
    need = math.ceil(args.drafts_factor * rate * (args.warmup + args.duration)) + 2 * concurrency
    token = demo_token(args.url, email)
    progress(f"setup: creating {need:,} 5-line drafts through createOrder ({mutation_setup.SETUP_WORKERS} connections)")
    started = time.perf_counter()
    drafts = await maker.make(token, need)
    progress(f"setup: {len(drafts):,} drafts in {time.perf_counter() - started:.1f} s")
    enough_drafts(drafts, concurrency)
    host, port, path = check_loopback(args.url)
    prefix = key_prefix("place", concurrency)

    def request_for(n: int) -> bytes | None:
        if n >= len(drafts):
            return None
        d: Draft = drafts[n]
        variables = {"input": {"id": d.gid, "version": d.version, "idempotencyKey": f"{prefix}{d.pk}"}}
        return graphql_request(host, port, path, PLACE_ORDER, variables, token)

    return await _measure(
        args,
        dsn,
        setup,
        parties,
        concurrency,
        request_for,
        len(drafts),
        lambda before, counter: mutation_setup.placed_written(dsn, setup.org_id, drafts, before),
    )


async def measure_pay(
    args: argparse.Namespace,
    dsn: str,
    setup: Setup,
    parties: machine.Parties,
    concurrency: int,
    hot: bool,
    email: str,
) -> CellRun:
    token = demo_token(args.url, email)
    host, port, path = check_loopback(args.url)
    prefix = key_prefix("pay-hot" if hot else "pay-spread", concurrency)
    invoices = [global_id("Invoice", pk) for pk in ([setup.hot_invoice] if hot else setup.spread_invoices)]

    def request_for(n: int) -> bytes:
        variables = {
            "input": {
                "invoiceId": invoices[n % len(invoices)],
                "amount": args.amount,
                "method": "BANK_TRANSFER",
                "reference": f"bench {n}",
                "idempotencyKey": f"{prefix}{n}",
            }
        }
        return graphql_request(host, port, path, RECORD_PAYMENT, variables, token)

    return await _measure(
        args,
        dsn,
        setup,
        parties,
        concurrency,
        request_for,
        None,
        lambda before, counter: mutation_setup.payments_written(dsn, setup.org_id, prefix, before),
    )


async def _measure(
    args: argparse.Namespace,
    dsn: str,
    setup: Setup,
    parties: machine.Parties,
    concurrency: int,
    request_for: Callable[[int], bytes | None],
    available: int | None,
    written: Callable[[mutation_setup.Marks, Counter], mutation_setup.Written],
) -> CellRun:
    if args.quiet_wait > 0:
        busy = await cells.wait_quiet(args.quiet_wait)
        if busy > cells.QUIET:
            progress(f"machine still busy ({busy:.2f} cores) after {args.quiet_wait:g} s; measuring anyway")
    before = mutation_setup.marks(dsn, setup.org_id)
    counter = Counter()
    m, waits, note = await load_cell(args, concurrency, request_for, counter, parties, dsn, available)
    check = written(before, counter)
    what = "placed orders" if available is not None else "payments"
    return CellRun(m, waits, counter.ok, check.line(counter.ok, what), note)


def enough_drafts(drafts: list[Draft], concurrency: int) -> None:
    if len(drafts) < 2 * concurrency:
        # createOrder failed (the error is printed above): a cell of a handful of requests means nothing.
        raise SystemExit(f"bench: only {len(drafts)} drafts could be created; see the createOrder error above")


_RUN_TAG = f"{int(time.time()):x}{os.getpid() % 4096:03x}"
_attempts: dict[str, int] = {}


def key_prefix(cell: str, concurrency: int) -> str:
    """A unique idempotency-key prefix per measured attempt: a repeated key would replay, not write."""
    base = f"bm-{_RUN_TAG}-{cell}-c{concurrency}"
    _attempts[base] = _attempts.get(base, 0) + 1
    return f"{base}-{_attempts[base]}-"


async def with_retries(args: argparse.Namespace, label: str, once: Callable[[], Awaitable[CellRun]]) -> CellRun:
    """A cell, measured again (with fresh drafts and keys) when other work disturbed it; the least disturbed kept."""
    best: CellRun | None = None
    checks: list[str] = []
    for attempt in range(1 + args.retries):
        run = await once()
        checks.append(run.verification)
        other = run.measurement.cpu.other if run.measurement.cpu else 0.0
        progress(
            f"{label}: {run.measurement.rps:,.1f} req/s, p99 {run.measurement.percentile(99):.1f} ms,"
            f" {run.measurement.errors} errors (other work {other:.2f} cores); {run.verification}"
        )
        if best is None or best.measurement.cpu is None or other < best.measurement.cpu.other:
            best = run
        if not other >= report.BUSY_OTHER:
            break
        if attempt < args.retries:
            progress(f"{label}: disturbed by other work, measuring again")
    assert best is not None
    if len(checks) > 1:
        best.verification = " / ".join(checks) + " (every attempt)"
    return best


# -- the report ----------------------------------------------------------------------


CODE_DIRS = ("app", "resolvers", "schema", "alembic")


def stale_server(pid: int | None) -> str | None:
    """A note when a source file of this checkout changed after the server process started
    (it then runs other code than the checkout, and the database may need another migration)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        started_ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, ValueError, StopIteration):
        return None
    started = boot + started_ticks / machine.CLOCK_TICKS
    root = Path(__file__).resolve().parent.parent
    newest, newest_path = 0.0, None
    for directory in CODE_DIRS:
        for path in (root / directory).rglob("*.py"):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if mtime > newest:
                newest, newest_path = mtime, path
    if newest_path is not None and newest > started + 1:
        return (
            f"{newest_path.relative_to(root)} changed at {time.strftime('%H:%M:%S', time.localtime(newest))}, after the"
            f" server started ({time.strftime('%H:%M:%S', time.localtime(started))}):"
            " restart it (and migrate a fresh database)"
        )
    return None


def pg_settings(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn, **floor.SESSION) as conn:
        return dict(
            conn.execute(
                "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN ('server_version',"
                " 'shared_buffers', 'max_connections', 'synchronous_commit', 'fsync', 'wal_sync_method',"
                " 'commit_delay', 'full_page_writes', 'jit')"
            ).fetchall()
        )


# -- the order of work -------------------------------------------------------------------


def _probes(setup: Setup, amount: str) -> list[mutation_count.Probe]:
    create = mutation_count.Probe(
        "create",
        "createOrder",
        mutation_setup.CREATE_ORDER,
        lambda i, done: mutation_setup.draft_input(setup, 1_000_000 + i),
    )

    def place_vars(i: int, done: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        order = done["create"][i]["order"]
        return {"input": {"id": order["id"], "version": order["version"], "idempotencyKey": f"bm-{_RUN_TAG}-count-{i}"}}

    place = mutation_count.Probe("place", "placeOrder", PLACE_ORDER, place_vars)
    pay = mutation_count.Probe(
        "pay",
        "recordPayment",
        RECORD_PAYMENT,
        lambda i, done: {
            "input": {
                "invoiceId": global_id("Invoice", setup.spread_invoices[i % len(setup.spread_invoices)]),
                "amount": amount,
                "method": "BANK_TRANSFER",
                "reference": "bench count",
                "idempotencyKey": f"bm-{_RUN_TAG}-count-pay-{i}",
            }
        },
    )
    return [create, place, pay]


async def probe_rate(args: argparse.Namespace, dsn: str, setup: Setup, maker: DraftMaker, email: str) -> float:
    """placeOrder's rate at 16 connections over a short loop: how many drafts a cell needs. Also warms the server."""
    concurrency = max(16, max(args.concurrencies))
    token = demo_token(args.url, email)
    drafts = await maker.make(token, concurrency * PROBE_DRAFTS_PER_CONNECTION)
    enough_drafts(drafts, concurrency)
    host, port, path = check_loopback(args.url)
    counter = Counter()

    def request_for(n: int) -> bytes | None:
        if n >= len(drafts):
            return None
        d = drafts[n]
        variables = {"input": {"id": d.gid, "version": d.version, "idempotencyKey": f"bm-{_RUN_TAG}-probe-{d.pk}"}}
        return graphql_request(host, port, path, PLACE_ORDER, variables, token)

    probe_args = argparse.Namespace(**{**vars(args), "warmup": 0.0, "duration": 5.0, "sample_interval": 0})
    m, _, _ = await load_cell(probe_args, concurrency, request_for, counter, machine.Parties(), dsn, len(drafts))
    progress(
        f"probe: placeOrder at {concurrency} connections: {m.rps:,.1f} req/s"
        f" over {m.requests} requests ({m.errors} errors)"
    )
    return max(m.rps, 1.0)


async def run(args: argparse.Namespace) -> int:
    dsn = floor.conninfo(args.database_url)
    check_loopback(args.url)
    load_start = os.getloadavg()
    commit_start = code_version()
    with psycopg.connect(dsn, **floor.SESSION) as conn:
        row = conn.execute("SELECT id FROM organizations ORDER BY id LIMIT 1").fetchone()
    if row is None:
        raise SystemExit("bench: the database has no organization: run `bizgraph seed` first")
    scale, _ = data_scale(dsn, row[0])
    pg = pg_settings(dsn)
    progress("setup: choosing products, customers and invoices")
    setup = mutation_setup.prepare(dsn, 10_000, args.customers, args.invoices, Decimal("10.00"))
    email = demo_email(args.principal, setup.org_slug)
    progress(f"asking the server for {email}'s access token")
    token = demo_token(args.url, email)
    if "pay-spread" in args.cell_keys or "pay-hot" in args.cell_keys:
        await mutation_setup.ensure_invoices(args.url, token, dsn, setup, args.invoices)
    progress(
        f"setup: spread payments cycle over {len(setup.spread_invoices):,} open invoices"
        f" (≥ {setup.min_spread_due} due);"
        f" hot invoice {setup.hot_invoice} ({setup.hot_due} due)"
    )
    counts: dict[str, mutation_count.MutationCount] = {}
    if not args.no_statements:
        progress("counting SQL statements and round trips in-process (real mutations on the bench database)")
        counts = await mutation_count.count(args.database_url, email, _probes(setup, args.amount))
    parties = find_parties(args.url, dsn)
    if parties.server is None or parties.postgres is None:
        progress("could not find the server's or PostgreSQL's process: their CPU columns show '–'")
    if stale := stale_server(parties.server):
        progress(f"warning: {stale}")
        setup.notes.append(f"at the start, {stale}")
    maker = DraftMaker(args.url, setup)
    rate = 0.0
    if "place" in args.cell_keys:
        progress("probe: placing a few drafts to size the placeOrder cells")
        rate = await probe_rate(args, dsn, setup, maker, email)

    results = [CellResult(k, c) for k in args.cell_keys for c in args.concurrencies]
    for run_no in range(1, args.runs + 1):
        for r in results:
            label = f"run {run_no}/{args.runs}: {TITLES[r.key]} × {r.concurrency}"
            progress(label)
            if r.key == "place":
                # Drafts for this cell: sized by this concurrency's rate in an earlier run, else by the probe's.
                cell_rate = max([x.measurement.rps for x in r.runs], default=rate)
                once = functools.partial(
                    measure_place, args, dsn, setup, maker, parties, r.concurrency, cell_rate, email
                )
            else:
                once = functools.partial(
                    measure_pay, args, dsn, setup, parties, r.concurrency, r.key == "pay-hot", email
                )
            r.runs.append(await with_retries(args, label, once))
    load_end = os.getloadavg()
    commit_end = code_version()
    if (stale := stale_server(parties.server)) and not any(stale in n for n in setup.notes):
        progress(f"warning: {stale}")
        setup.notes.append(f"at the end, {stale}")
    commit = commit_start
    if commit_end != commit_start:
        commit = f"{commit_start} at the start, {commit_end} at the end (the checkout changed while measuring)"

    out = [
        "# bizgraph mutation benchmark",
        "",
        f"- machine: {machine.describe()}; load average (1/5/15 min) {_load(load_start)} at the start,"
        f" {_load(load_end)} at the end",
        f"- PostgreSQL: {pg.get('server_version')} (shared_buffers {pg.get('shared_buffers')}, max_connections"
        f" {pg.get('max_connections')}, synchronous_commit {pg.get('synchronous_commit')}, fsync {pg.get('fsync')},"
        f" wal_sync_method {pg.get('wal_sync_method')}, commit_delay {pg.get('commit_delay')}), same machine",
        f"- server: {args.url}; code of this checkout: {commit} (read from .git; uncommitted changes not checked;"
        " the server must have been started from it after the last change)",
        f"- data before setup: organization '{setup.org_slug}' (id {setup.org_id}); rows in it (all orgs): {scale}",
        f"- setup (the bench changed its database): stock_on_hand + {mutation_setup.STOCK_BOOST:,} on"
        f" {len(setup.product_ids)} active products, credit_limit ≥ {mutation_setup.CREDIT_LIMIT:,} on"
        f" {len(setup.customer_ids):,} active customers; {maker.made:,} drafts created through createOrder"
        f" ({mutation_setup.LINES} lines, quantity 1 each, products in a moving window, so concurrent placements"
        f" lock different products); payments of {args.amount} cycle over {len(setup.spread_invoices):,} open invoices"
        f" (spread) or all go to invoice {setup.hot_invoice} ({setup.hot_due} due at the start; hot)"
        + (f"; {setup.issued} invoices issued through issueInvoice" if setup.issued else ""),
        f"- principal: {email}; every request carries its bearer token and a unique idempotency key",
        f"- command: `{shlex.join(sys.orig_argv)}`",
        f"- each cell: {args.warmup:g} s warm-up, then {args.duration:g} s measured; closed loop, one request in"
        f" flight per connection; latencies client side; {args.runs} run(s), the tables give medians over runs",
        *[f"- note: {n}" for n in setup.notes],
        "",
        *mutation_report.results_table(results, counts),
        "",
        "Where the server's database connections were during the window (mean number of its backends, sampled"
        f" from pg_stat_activity every {args.sample_interval:g} s; the wait per request follows by Little's law):",
        "",
        *mutation_report.waits_table(results),
        "",
        "Each run:",
        "",
        *mutation_report.per_run_table(results),
        "",
        "Database check after each cell (warm-up requests included):",
        "",
        *[
            f"- {TITLES[r.key]} × {r.concurrency}, run {i}: {x.verification}"
            for r in results
            for i, x in enumerate(r.runs, 1)
        ],
        "",
    ]
    if counts:
        out += [
            "Statements of one request (in-process count, after a warm-up request):",
            "",
            *mutation_report.statement_notes(counts),
            "",
        ]
    print("\n".join(out))
    return 0


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
