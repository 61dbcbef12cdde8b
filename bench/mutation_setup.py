"""Setup for the mutation bench (``python -m bench.mutations``): what it writes to, outside any measurement.

Everything here runs before a cell's window opens, and it **changes the bench
database**: the chosen products get more stock on hand and the chosen
customers a larger credit limit (so no placement can fail on a business rule),
draft orders are created through the API for the placeOrder cells, and, when
the seed has too few, invoices are issued through the API for the payment cells.

Also here: the checks after a cell (the database holds exactly as many new
placements or payments as there were successful requests) and the sampler of
``pg_stat_activity`` that shows where the server's database connections wait.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
import psycopg

from bench.floor import SESSION
from bench.load import HttpConnection, check_loopback, graphql_request
from bench.report import progress
from bench.workloads import global_id

STOCK_BOOST = 1_000_000  # units added to each chosen product's stock_on_hand
CREDIT_LIMIT = Decimal("999999999.00")  # the chosen customers' new credit limit
LINES = 5  # lines per draft order
SETUP_WORKERS = 16  # concurrent createOrder / issueInvoice requests during setup

CREATE_ORDER = (
    "mutation($input: CreateOrderInput!) { createOrder(input: $input) {"
    " order { id version } errors { code field message } } }"
)
ISSUE_INVOICE = (
    "mutation($input: IssueInvoiceInput!) { issueInvoice(input: $input) {"
    " invoice { id } errors { code field message } } }"
)


def decode_id(gid: str) -> int:
    return int(base64.b64decode(gid).decode().split(":", 1)[1])


@dataclass
class Setup:
    """What the cells act on, chosen once per invocation."""

    org_id: int
    org_slug: str
    product_ids: list[int]
    customer_ids: list[int]
    spread_invoices: list[int]  # paid round-robin by the "spread" cell
    hot_invoice: int  # paid by every client in the "one hot invoice" cell
    hot_due: Decimal
    min_spread_due: Decimal
    issued: int = 0  # invoices issued through the API because the seed had too few
    notes: list[str] = field(default_factory=list)


def _session(conn: psycopg.Connection, org_id: int) -> None:
    # The tables force row-level security for their owner: name the organization
    # (a superuser, as in the README's DATABASE_URL, bypasses it anyway).
    conn.execute("SELECT set_config('bizgraph.org_id', %s, false)", (str(org_id),))


def prepare(dsn: str, products: int, customers: int, invoices: int, min_due: Decimal) -> Setup:
    """Pick the measured organization's products, customers and invoices; raise stock and credit."""
    with psycopg.connect(dsn, **SESSION) as conn:
        org = conn.execute("SELECT id, slug FROM organizations ORDER BY id LIMIT 1").fetchone()
        if org is None:
            raise SystemExit("bench: the database has no organization: run `bizgraph seed` first")
        org_id, slug = org
        _session(conn, org_id)
        product_ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM products WHERE org_id = %s AND active ORDER BY id LIMIT %s", (org_id, products)
            )
        ]
        customer_ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM customers WHERE org_id = %s AND status = 'active' ORDER BY md5(id::text) LIMIT %s",
                (org_id, customers),
            )
        ]
        if len(product_ids) < LINES or not customer_ids:
            raise SystemExit(f"bench: organization {slug} needs ≥ {LINES} active products and an active customer")
        with conn.transaction():
            conn.execute(
                "UPDATE products SET stock_on_hand = stock_on_hand + %s WHERE id = ANY(%s)",
                (STOCK_BOOST, product_ids),
            )
            conn.execute(
                "UPDATE customers SET credit_limit = greatest(credit_limit, %s) WHERE id = ANY(%s)",
                (CREDIT_LIMIT, customer_ids),
            )
        progress(
            f"setup: raised stock_on_hand by {STOCK_BOOST:,} on {len(product_ids)} active products and set"
            f" credit_limit ≥ {CREDIT_LIMIT:,} on {len(customer_ids)} active customers of {slug}"
            " (the bench changes its database)"
        )
        hot = conn.execute(
            "SELECT id, total - amount_paid FROM invoices WHERE org_id = %s"
            " AND status IN ('issued', 'partially_paid', 'overdue') ORDER BY total - amount_paid DESC, id LIMIT 1",
            (org_id,),
        ).fetchone()
        spread = _open_invoices(conn, org_id, invoices, min_due, exclude=hot[0] if hot else None)
    return Setup(
        org_id, slug, product_ids, customer_ids, spread, hot[0] if hot else 0, hot[1] if hot else Decimal(0), min_due
    )


def _open_invoices(conn: psycopg.Connection, org_id: int, n: int, min_due: Decimal, exclude: int | None) -> list[int]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM invoices WHERE org_id = %s AND status IN ('issued', 'partially_paid', 'overdue')"
            " AND total - amount_paid >= %s AND id <> %s ORDER BY md5(id::text) LIMIT %s",
            (org_id, min_due, exclude or 0, n),
        )
    ]


async def ensure_invoices(url: str, token: str, dsn: str, setup: Setup, wanted: int) -> None:
    """Issue invoices (``issueInvoice`` over HTTP) on approved orders without one until
    ``wanted`` open invoices with at least ``setup.min_spread_due`` due exist."""
    missing = wanted - len(setup.spread_invoices)
    if missing <= 0 and setup.hot_invoice:
        return
    with psycopg.connect(dsn, **SESSION) as conn:
        _session(conn, setup.org_id)
        orders = [
            r[0]
            for r in conn.execute(
                "SELECT o.id FROM orders o WHERE o.org_id = %s AND o.status IN ('approved', 'fulfilled')"
                " AND o.total >= %s"
                " AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = o.id AND i.status <> 'void')"
                " ORDER BY o.id LIMIT %s",
                (setup.org_id, setup.min_spread_due, max(missing, 1)),
            )
        ]
    progress(
        f"setup: {len(setup.spread_invoices)} open invoices with ≥ {setup.min_spread_due} due;"
        f" issuing {len(orders)} more through issueInvoice"
    )
    results = await run_concurrently(
        url, token, ISSUE_INVOICE, [{"input": {"orderId": global_id("Order", pk)}} for pk in orders], "issueInvoice"
    )
    setup.issued = sum(1 for r in results if r is not None)
    with psycopg.connect(dsn, **SESSION) as conn:
        _session(conn, setup.org_id)
        if not setup.hot_invoice:
            row = conn.execute(
                "SELECT id, total - amount_paid FROM invoices WHERE org_id = %s"
                " AND status IN ('issued', 'partially_paid', 'overdue') ORDER BY total - amount_paid DESC, id LIMIT 1",
                (setup.org_id,),
            ).fetchone()
            if row:
                setup.hot_invoice, setup.hot_due = row
        setup.spread_invoices = _open_invoices(conn, setup.org_id, wanted, setup.min_spread_due, setup.hot_invoice)
    if len(setup.spread_invoices) < wanted:
        setup.notes.append(f"only {len(setup.spread_invoices)} open invoices available for the spread payment cell")


async def run_concurrently(
    url: str, token: str, query: str, variables: list[dict[str, Any]], field_name: str, workers: int = SETUP_WORKERS
) -> list[dict[str, Any] | None]:
    """Send one mutation per ``variables`` entry over ``workers`` keep-alive connections;
    each answer's payload object (None when it carried errors). Not measured."""
    host, port, path = check_loopback(url)
    results: list[dict[str, Any] | None] = [None] * len(variables)
    failures: list[str] = []
    next_index = iter(range(len(variables)))

    async def worker() -> None:
        connection = HttpConnection(host, port, 60.0)
        try:
            for i in next_index:
                status, body = await connection.exchange(graphql_request(host, port, path, query, variables[i], token))
                answer = orjson.loads(body) if status == 200 else {"errors": [f"HTTP {status}"]}
                payload = (answer.get("data") or {}).get(field_name)
                if answer.get("errors") or payload is None or payload.get("errors"):
                    failures.append(str(answer.get("errors") or (payload or {}).get("errors"))[:300])
                else:
                    results[i] = payload
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(min(workers, len(variables)) or 1)))
    if failures:
        progress(f"setup: {len(failures)} of {len(variables)} {field_name} requests failed, e.g. {failures[0]}")
    return results


@dataclass(frozen=True)
class Draft:
    pk: int
    gid: str
    version: int


def draft_input(setup: Setup, n: int) -> dict[str, Any]:
    """Draft number ``n``: 5 distinct products, a window that moves 5 products a draft,
    so drafts placed at the same time lock different product rows."""
    count = len(setup.product_ids)
    lines = [
        {"productId": global_id("Product", setup.product_ids[(LINES * n + j) % count]), "quantity": 1, "discount": "0"}
        for j in range(LINES)
    ]
    customer = setup.customer_ids[n % len(setup.customer_ids)]
    return {"input": {"customerId": global_id("Customer", customer), "lines": lines}}


class DraftMaker:
    """Creates 5-line drafts through ``createOrder``; numbers them across calls."""

    def __init__(self, url: str, setup: Setup) -> None:
        self.url, self.setup = url, setup
        self.made = 0

    async def make(self, token: str, count: int) -> list[Draft]:
        start, self.made = self.made, self.made + count
        variables = [draft_input(self.setup, n) for n in range(start, start + count)]
        payloads = await run_concurrently(self.url, token, CREATE_ORDER, variables, "createOrder")
        drafts = []
        for payload in payloads:
            if payload is not None:
                order = payload["order"]
                drafts.append(Draft(decode_id(order["id"]), order["id"], order["version"]))
        return drafts


# -- checks after a cell -------------------------------------------------------------


@dataclass(frozen=True)
class Marks:
    """High-water marks of the append-only tables before a cell."""

    audit: int
    outbox: int


def marks(dsn: str, org_id: int) -> Marks:
    with psycopg.connect(dsn, **SESSION) as conn:
        _session(conn, org_id)
        audit, outbox = conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM audit_log), (SELECT coalesce(max(id), 0) FROM outbox)"
        ).fetchone()
    return Marks(audit, outbox)


@dataclass
class Written:
    """What a cell left in the database."""

    done: int  # placements (orders no longer drafts) or payments with the cell's keys
    audit_rows: int
    outbox_rows: int
    unpositioned: int  # outbox rows the commit trigger gave no position (must be 0)
    extra: str = ""

    def line(self, successes: int, what: str) -> str:
        ok = "✓" if self.done == successes and self.unpositioned == 0 else "✗ MISMATCH"
        per = (lambda n: f"{n / successes:.2f}") if successes else (lambda n: "–")
        return (
            f"{ok} {self.done:,} {what} in the database for {successes:,} successful requests;"
            f" {per(self.audit_rows)} audit rows and {per(self.outbox_rows)} outbox events per request,"
            f" {self.unpositioned} events without a position{self.extra}"
        )


def _appended(conn: psycopg.Connection, before: Marks) -> tuple[int, int, int]:
    audit, outbox, unpositioned = conn.execute(
        "SELECT (SELECT count(*) FROM audit_log WHERE id > %(a)s),"
        " (SELECT count(*) FROM outbox WHERE id > %(o)s),"
        " (SELECT count(*) FROM outbox WHERE id > %(o)s AND position IS NULL)",
        {"a": before.audit, "o": before.outbox},
    ).fetchone()
    return audit, outbox, unpositioned


def placed_written(dsn: str, org_id: int, drafts: list[Draft], before: Marks) -> Written:
    with psycopg.connect(dsn, **SESSION) as conn:
        _session(conn, org_id)
        placed, approved = conn.execute(
            "SELECT count(*) FILTER (WHERE status <> 'draft'), count(*) FILTER (WHERE status = 'approved')"
            " FROM orders WHERE id = ANY(%s)",
            ([d.pk for d in drafts],),
        ).fetchone()
        audit, outbox, unpositioned = _appended(conn, before)
    return Written(
        placed, audit, outbox, unpositioned, f"; {approved:,} of them approved at once (under the threshold)"
    )


def payments_written(dsn: str, org_id: int, key_prefix: str, before: Marks) -> Written:
    with psycopg.connect(dsn, **SESSION) as conn:
        _session(conn, org_id)
        paid, amount = conn.execute(
            "SELECT count(*), coalesce(sum(amount), 0) FROM payments WHERE org_id = %s AND idempotency_key LIKE %s",
            (org_id, key_prefix.replace("_", r"\_") + "%"),
        ).fetchone()
        audit, outbox, unpositioned = _appended(conn, before)
    return Written(paid, audit, outbox, unpositioned, f"; {amount} paid in all")


# -- where the server's connections wait ----------------------------------------------

# One sample of the server's backends (application_name 'bizgraph') on this database.
_ACTIVITY = """
SELECT CASE
         WHEN state = 'idle in transaction' THEN 'idle_in_tx'
         WHEN state = 'idle' THEN 'idle'
         WHEN state <> 'active' THEN 'other'
         WHEN wait_event IS NULL THEN 'cpu'
         WHEN wait_event_type = 'Lock' AND wait_event = 'advisory' THEN 'advisory'
         WHEN wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple') THEN 'row_lock'
         WHEN wait_event_type = 'Lock' THEN 'other_lock'
         WHEN wait_event IN ('WALSync', 'WALWrite', 'WALInitSync', 'WALInitWrite') OR wait_event LIKE 'WAL%' THEN 'wal'
         WHEN wait_event_type = 'Client' THEN 'client'
         ELSE 'other_wait'
       END AS what, count(*)
FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'bizgraph' AND backend_type = 'client backend'
GROUP BY 1
"""
KINDS = ("cpu", "advisory", "row_lock", "wal", "other_lock", "other_wait", "client", "idle_in_tx", "idle", "other")


@dataclass
class WaitProfile:
    """Average number of the server's backends in each state over a cell's window."""

    samples: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    max_connections: int = 0

    def mean(self, kind: str) -> float:
        return self.totals.get(kind, 0) / self.samples if self.samples else float("nan")

    @property
    def in_transaction(self) -> float:
        return sum(self.mean(k) for k in KINDS if k not in ("idle", "other"))


class WaitSampler:
    """Polls ``pg_stat_activity`` every ``interval`` seconds while running (its own connection)."""

    def __init__(self, dsn: str, interval: float = 0.1) -> None:
        self.dsn, self.interval = dsn, interval
        self.profile = WaitProfile()
        self._task: asyncio.Task | None = None
        self._conn: psycopg.AsyncConnection | None = None

    async def start(self) -> None:
        self._conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, application_name="bizgraph-bench")
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self._conn is not None
        while True:
            rows = await (await self._conn.execute(_ACTIVITY)).fetchall()
            self.profile.samples += 1
            total = 0
            for kind, n in rows:
                self.profile.totals[kind] = self.profile.totals.get(kind, 0) + n
                total += n
            self.profile.max_connections = max(self.profile.max_connections, total)
            await asyncio.sleep(self.interval)

    async def stop(self) -> WaitProfile:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()
        return self.profile
