"""Live queries and event streams under load: ``python -m bench.subscriptions`` (see bench/README.md).

One ``bizgraph serve`` process on a seeded database (started here, behind a statement-counting
proxy), this process as the load: subscribers over graphql-transport-ws in a realistic mix, and
writes (``createOrder`` over HTTP) at a fixed rate. For each number of subscribers (``--subscribers
1000,10000`` measures 1,000, then adds subscribers up to 10,000 and measures again), it reports
the write-to-client latency, messages lost and repeated, statements per write, CPU per party and
resident memory per subscriber, as Markdown on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import resource
import secrets
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from bench import machine
from bench.floor import SESSION, conninfo
from bench.mutation_setup import decode_id
from bench.report import progress
from bench.subscription_load import LoopLag, Subscriber, Write, Writer, fresh_answers, last_payload, subscribe
from bench.subscription_proxy import SELECTS, STATEMENTS, TRANSACTION, WRITES, CountingProxy
from bench.subscription_setup import People, draft_input, prepare, signing_settings

CREATE_ORDER = (
    "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id } errors { code field message } } }"
)
DASHBOARDS = (
    "subscription { ordersAggregate(groupBy: {dimensions: [STATUS]}) { status count sum { total } } }",
    "subscription { ordersAggregate(groupBy: {dimensions: [CUSTOMER_SEGMENT]}) {"
    " customerSegment count sum { total } } }",
)
# A customer's own latest orders (the customer token's row scope does the filtering).
CUSTOMER_ORDERS = (
    "subscription { orders(first: 5, orderBy: [{field: CREATED_AT, direction: DESC}]) {"
    " nodes { id number status total createdAt } } }"
)
# A sales rep's pipeline: the drafts of the accounts they manage (their token's row scope).
REP_PIPELINE = (
    "subscription { orders(first: 10, filter: {status: {eq: DRAFT}}, orderBy: [{field: CREATED_AT, direction: DESC}])"
    " { nodes { id number status total createdAt customer { name } } } }"
)
# Integrations' event streams, from the position each starts at. Each integration listens to
# the events it handles: one filter in ten takes the writes' order.created. (The filters are
# written into the documents, as an integration's fixed subscription would have them.)
EVENT_FILTERS = (
    'types: ["order.created"]',
    'types: ["order.placed", "order.approved"]',
    'types: ["order.fulfilled", "order.cancelled"]',
    'types: ["invoice.issued"]',
    'types: ["invoice.paid", "invoice.payment_recorded"]',
    'entityTypes: ["Invoice"]',
    'types: ["invoice.overdue"]',
    'entityTypes: ["Customer"]',
    'entityTypes: ["Product"]',
    'entityTypes: ["Employee"]',
)
EVENT_STREAMS = tuple(
    f"subscription {{ events({stream_filter}) {{ cursor node {{ id type entityType entityId occurredAt payload }} }} }}"
    for stream_filter in EVENT_FILTERS
)


# The bench's own server is scraped with it; made per run.
METRICS_TOKEN = secrets.token_urlsafe(32)
CONNECT_LIMIT = 300.0  # seconds for one level's new subscribers to get their first message


@dataclass
class Mix:
    dashboards: float
    events: float
    reps: float  # the rest are customers

    @classmethod
    def parse(cls, text: str) -> Mix:
        shares = {"dashboards": 0.01, "events": 0.1, "reps": 0.3}
        for part in filter(None, text.split(",")):
            name, _, value = part.partition("=")
            if name.strip() not in shares:
                raise SystemExit(f"bench: unknown share {name!r} in --mix (dashboards, events, reps)")
            shares[name.strip()] = float(value)
        if sum(shares.values()) > 1:
            raise SystemExit("bench: --mix shares add up to more than 1")
        return cls(**shares)


def build_subscribers(total: int, mix: Mix, people: People) -> list[Subscriber]:
    """``total`` subscribers; any prefix of the list has about the mix's shares."""
    org_wide = list(people.org_wide.values())
    share = {"dashboard": mix.dashboards, "events": mix.events, "rep": mix.reps}
    share["customer"] = 1 - sum(share.values())
    made = dict.fromkeys(share, 0)
    subscribers = []
    for i in range(1, total + 1):
        # The kind furthest behind its share comes next.
        kind = max(share, key=lambda k: share[k] * i - made[k])
        n = made[kind]
        made[kind] += 1
        if kind == "dashboard":
            who = org_wide[n % len(org_wide)]
            subscribers.append(Subscriber(kind, who.token, DASHBOARDS[(n // len(org_wide)) % len(DASHBOARDS)], {}))
        elif kind == "customer":
            who = people.customers[n % len(people.customers)]
            subscribers.append(Subscriber(kind, who.token, CUSTOMER_ORDERS, {}))
        elif kind == "rep":
            who = people.reps[n % len(people.reps)]
            subscribers.append(Subscriber(kind, who.token, REP_PIPELINE, {}))
        else:
            who = people.integrations[n % len(people.integrations)]
            # An integration handles one set of events: the filter goes with it.
            document = EVENT_STREAMS[n % len(EVENT_STREAMS)]
            subscribers.append(Subscriber(kind, who.token, document, {}))
    return subscribers


# -- the server under test -------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def collector_pauses(self) -> dict[str, tuple[float, float]]:
        """The server's cyclic-collector pauses so far, by generation: (count, seconds), from its
        /metrics (``bizgraph_gc_pause_seconds``; one worker's with ``--workers`` above 1)."""
        origin = self.url.removesuffix("/graphql")
        response = httpx.get(f"{origin}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30)
        response.raise_for_status()
        pauses: dict[str, list[float]] = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                generation = sample.labels.get("generation")
                if generation is None or not sample.name.startswith("bizgraph_gc_pause_seconds_"):
                    continue
                if sample.name.endswith("_count"):
                    pauses.setdefault(generation, [0.0, 0.0])[0] += sample.value
                elif sample.name.endswith("_sum"):
                    pauses.setdefault(generation, [0.0, 0.0])[1] += sample.value
        return {generation: (count, seconds) for generation, (count, seconds) in pauses.items()}

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def pids(self) -> list[int]:
        """The server and its worker processes (``serve --workers``)."""
        try:
            return [self.pid, *(child.pid for child in psutil.Process(self.pid).children(recursive=True))]
        except psutil.Error:
            return [self.pid]

    def rss(self) -> int:
        total = 0
        for pid in self.pids:
            try:
                total += int(psutil.Process(pid).memory_info().rss)
            except psutil.Error:
                continue
        return total

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(args: argparse.Namespace, database_url: str, signing_key: Path) -> Server:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BIZGRAPH_SIGNING_KEYS": str(signing_key),
        "BIZGRAPH_LOG_LEVEL": "WARNING",
        # For the collector's pauses (``Server.collector_pauses``).
        "BIZGRAPH_METRICS_TOKEN": METRICS_TOKEN,
    }
    # Room for every subscriber's socket (the default cap is the production one).
    env.setdefault("BIZGRAPH_MAX_LIVE_CONNECTIONS", str(2 * max(int(v) for v in args.subscribers.split(","))))
    for setting in args.server_env:
        name, _, value = setting.partition("=")
        env[name] = value
    command = [str(Path(sys.executable).with_name("bizgraph")), "serve", "--port", str(args.port)]
    command += ["--workers", str(args.workers)]
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    origin = f"http://127.0.0.1:{args.port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: bizgraph serve exited with {process.returncode}")
        try:
            if httpx.get(f"{origin}/readyz", timeout=2).status_code == 200:
                return Server(process, f"{origin}/graphql")
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit("bench: the server was not ready within 60 s")


def postgres_backends(dsn: str) -> list[int]:
    """The pids of the backends serving the bench database (the server's pool and its listener)."""
    with psycopg.connect(dsn, **SESSION) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [row[0] for row in rows]


# -- one measured window -----------------------------------------------------------------------


@dataclass
class Window:
    subscribers: int
    connect_seconds: float
    connect_failures: int
    writes: int
    write_failures: int
    seconds: float
    latencies: list[float]
    latencies_by_kind: dict[str, list[float]]
    write_log: list[Write]
    messages: int
    repeats: int
    live_checked: int
    live_stale: int
    stale_examples: list[str]
    events_expected: int
    events_lost: int
    events_duplicated: int
    events_unexpected: int
    statements: list[int]
    idle_statements_per_second: float
    idle_server_cores: float
    baseline_statements_per_write: float | None
    server_cores: float
    postgres_cores: float
    load_cores: float
    proxy_cores: float
    machine_cores: float
    server_rss: int
    rss_per_subscriber: float
    load_rss: int
    # How late the load process's loop came around during the window (seconds, every 10 ms).
    load_lags: list[float]
    # Event messages: arrival minus the arrival of their write's answer (seconds). The write
    # committed before its answer was sent, so this errs short where ``latencies`` err long.
    after_answers: list[float]
    # The server's cyclic-collector pauses during the window, by generation: (count, seconds).
    collector_pauses: dict[str, tuple[float, float]] = field(default_factory=dict)
    settled_seconds: float | None = None  # from the last write's answer until every check passed
    subscriber_failures: list[str] = field(default_factory=list)

    @property
    def other_cores(self) -> float:
        """Everything else the machine did meanwhile (other work on a shared box, the kernel)."""
        parties = self.server_cores + self.postgres_cores + self.load_cores + self.proxy_cores
        return max(0.0, self.machine_cores - parties)


def _grown(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """(count, seconds) per generation: what was added from ``before`` to ``after``."""
    grown = {}
    for generation, (count, seconds) in sorted(after.items()):
        count_before, seconds_before = before.get(generation, (0.0, 0.0))
        grown[generation] = (count - count_before, seconds - seconds_before)
    return grown


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Bench:
    def __init__(self, args: argparse.Namespace, people: People, server: Server, proxy: CountingProxy, dsn: str):
        self.args, self.people, self.server, self.proxy, self.dsn = args, people, server, proxy, dsn
        self.ws_url = server.url.replace("http://", "ws://", 1)
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.active: list[Subscriber] = []
        self.admission = asyncio.Semaphore(args.connect_concurrency)
        self.writer = Writer(server.url, people.org_wide["admin"].token, CREATE_ORDER, args.write_connections)
        self.rng = random.Random(args.seed)
        self.written = 0
        self.baseline_rss = 0
        self.baseline_note = ""
        with psycopg.connect(dsn, **SESSION) as conn:
            row = conn.execute("SELECT count(*) FROM orders WHERE org_id = %s", (people.org_id,)).fetchone()
        self.orders_before = int(row[0]) if row else 0  # the seed's, before any bench write

    def next_write(self, n: int) -> tuple[int, dict[str, Any]]:
        customer = self.rng.choice(self.people.customers).customer_id
        assert customer is not None
        self.written += 1
        return customer, draft_input(self.people, customer, self.written)

    async def baseline(self) -> float | None:
        """Statements per write with nobody subscribed: what the mutation itself costs."""
        if self.args.baseline_seconds <= 0:
            return None
        before, writes_before = self.proxy.snapshot(), len(self.writer.writes)
        await self.writer.run(self.args.writes_per_second, self.args.baseline_seconds, self.next_write)
        await asyncio.sleep(1)
        after = self.proxy.snapshot()
        done = self.writer.writes[writes_before:]
        answered = [write.done - write.sent for write in done if write.done]
        self.baseline_note = (
            f"With nobody subscribed, {len(done)} writes at {self.args.writes_per_second:g}/s were answered in"
            f" p50 {percentile(answered, 0.5) * 1000:.0f} / p99 {percentile(answered, 0.99) * 1000:.0f} ms"
            f" ({sum(1 for write in done if write.failure)} failed)."
        )
        return (after[STATEMENTS] - before[STATEMENTS]) / max(len(done), 1)

    async def grow(self, to: list[Subscriber]) -> tuple[float, int]:
        """Connects the subscribers not yet connected; waits for each one's first message."""
        started = time.perf_counter()
        new = to[len(self.active) :]
        self.active = list(to)
        self.tasks += [asyncio.create_task(subscribe(self.ws_url, s, self.admission, self.stop)) for s in new]
        for i, subscriber in enumerate(new):
            try:
                await asyncio.wait_for(subscriber.ready.wait(), max(1.0, started + CONNECT_LIMIT - time.perf_counter()))
            except TimeoutError:
                subscriber.failure = subscriber.failure or f"no first message within {CONNECT_LIMIT:.0f} s"
            if (i + 1) % 1000 == 0:
                progress(f"  {i + 1} of {len(new)} new subscribers have their first message")
        return time.perf_counter() - started, sum(1 for s in new if s.failure)

    async def quiet(self, idle: float, limit: float) -> None:
        """Waits until no subscriber received anything for ``idle`` seconds (at most ``limit``)."""
        deadline = time.monotonic() + limit
        last = -1
        while time.monotonic() < deadline:
            now = sum(s.messages for s in self.active)
            if now == last:
                return
            last = now
            await asyncio.sleep(idle)

    async def idle(self, seconds: float) -> tuple[float, float]:
        """Statements per second and server cores while nothing is written: what holding the
        subscribers costs by itself (pings, each socket's periodic check of its token's user)."""
        if seconds <= 0:
            return 0.0, float("nan")
        before, started = self.proxy.snapshot()[STATEMENTS], time.perf_counter()
        cpu = machine.cpu_seconds(self.server.pids)
        await asyncio.sleep(seconds)
        wall = time.perf_counter() - started
        statements = (self.proxy.snapshot()[STATEMENTS] - before) / wall
        return statements, (machine.cpu_seconds(self.server.pids) - cpu) / wall

    async def window(self, level: int, baseline: float | None, connect: tuple[float, int]) -> Window:
        args = self.args
        await self.quiet(1.0, 30)
        server_rss = self.server.rss()
        idle_statements, idle_cores = await self.idle(args.idle_seconds)
        messages_before = {id(s): s.messages for s in self.active}
        latencies_before = {id(s): len(s.latencies) for s in self.active}
        totals_before = {id(s): len(s.totals) for s in self.active}
        events_before = {id(s): len(s.event_ids) for s in self.active}
        writes_before = len(self.writer.writes)
        backends = postgres_backends(self.dsn)
        own = psutil.Process()
        cpu = (
            time.perf_counter(),
            machine.cpu_seconds(self.server.pids),
            machine.cpu_seconds(backends),
            sum(own.cpu_times()[:2]),
            machine.cpu_seconds([self.proxy.pid] if self.proxy.pid else []),
            machine.CpuSample.take(),
        )
        statements = self.proxy.snapshot()
        pauses_before = self.server.collector_pauses()
        progress(f"window: {level} subscribers, {args.writes_per_second} writes/s for {args.seconds} s")
        lag = LoopLag()
        lag.start()
        await self.writer.run(args.writes_per_second, args.seconds, self.next_write)
        await self.quiet(3.0, args.settle)
        load_lags = await lag.stop()
        wall = time.perf_counter() - cpu[0]
        statements_after = self.proxy.snapshot()
        pauses_after = self.server.collector_pauses()
        after_sample = machine.CpuSample.take()
        server_cores = (machine.cpu_seconds(self.server.pids) - cpu[1]) / wall
        # A backend that exits takes its CPU time with it: never below zero.
        postgres_cores = max(0.0, (machine.cpu_seconds(backends) - cpu[2]) / wall)
        load_cores = (sum(own.cpu_times()[:2]) - cpu[3]) / wall
        proxy_cores = (machine.cpu_seconds([self.proxy.pid] if self.proxy.pid else []) - cpu[4]) / wall
        machine_cores = machine.cpu_use(cpu[5], after_sample, machine.NO_PARTIES).machine
        writes = self.writer.writes[writes_before:]

        checked, stale, examples, lost, duplicated, expected, unexpected, settled = await self.converge(writes)
        by_kind: dict[str, list[float]] = {}
        for s in self.active:
            by_kind.setdefault(s.kind, []).extend(s.latencies[latencies_before[id(s)] :])
        by_kind["dashboard"] = self.dashboard_latencies(writes, totals_before)
        latencies = [lat for values in by_kind.values() for lat in values]
        answered_at = {w.order_id: w.done for w in writes if w.order_id and w.done}
        after_answers = [
            arrived - answered_at[entity]
            for s in self.active
            if s.kind == "events"
            for entity, arrived in zip(
                s.event_ids[events_before[id(s)] :], s.event_arrivals[events_before[id(s)] :], strict=True
            )
            if entity in answered_at
        ]
        progress(f"window done: {len(writes)} writes, {len(latencies)} latencies, {stale} stale of {checked}")
        return Window(
            subscribers=level,
            connect_seconds=connect[0],
            connect_failures=connect[1],
            writes=len(writes),
            write_failures=sum(1 for w in writes if w.failure),
            seconds=wall,
            latencies=latencies,
            latencies_by_kind=by_kind,
            write_log=writes,
            messages=sum(s.messages - messages_before[id(s)] for s in self.active),
            repeats=sum(s.repeats for s in self.active),
            live_checked=checked,
            live_stale=stale,
            stale_examples=examples,
            events_expected=expected,
            events_lost=lost,
            events_duplicated=duplicated,
            events_unexpected=unexpected,
            statements=[b - a for a, b in zip(statements, statements_after, strict=True)],
            idle_statements_per_second=idle_statements,
            idle_server_cores=idle_cores,
            baseline_statements_per_write=baseline,
            server_cores=server_cores,
            postgres_cores=postgres_cores,
            load_cores=load_cores,
            proxy_cores=proxy_cores,
            machine_cores=machine_cores,
            server_rss=server_rss,
            rss_per_subscriber=(server_rss - self.baseline_rss) / max(level, 1),
            load_rss=int(own.memory_info().rss),
            load_lags=load_lags,
            after_answers=after_answers,
            collector_pauses=_grown(pauses_before, pauses_after),
            settled_seconds=settled,
            subscriber_failures=[f"{s.kind} {s.document[:60]}: {s.failure}" for s in self.active if s.failure][:5],
        )

    def dashboard_latencies(self, writes: list[Any], totals_before: dict[int, int]) -> list[float]:
        """A dashboard's total order count is the seed's plus k: the message reflects the k-th order
        the bench wrote (in the database's creation order). Its first message is not a change."""
        ids = [decode_id(w.order_id) for w in self.writer.writes if w.order_id]
        if not ids:
            return []
        with psycopg.connect(self.dsn, **SESSION) as conn:
            rows = conn.execute(
                "SELECT extract(epoch FROM created_at)::float8 FROM orders WHERE id = ANY(%s) ORDER BY created_at, id",
                (ids,),
            ).fetchall()
        created = [row[0] for row in rows]
        found = []
        for s in self.active:
            if s.kind != "dashboard" or not s.totals:
                continue
            for arrived, total in s.totals[max(totals_before[id(s)], 1) :]:
                k = total - self.orders_before
                if 0 < k <= len(created):
                    found.append(arrived - created[k - 1])
        return found

    async def converge(self, writes: list[Write]) -> tuple[int, int, list[str], int, int, int, int, float | None]:
        """Checks every subscriber's state until all are right or ``--settle`` has passed since the
        last write: a message still on its way is late, not lost, and the time it took is reported.
        Returns the live queries checked, stale and examples, the events lost, duplicated,
        expected and unexpected, and how long after the last write everything was right."""
        last_write = max((w.done for w in writes if w.done), default=time.time())
        live = [s for s in self.active if s.kind != "events" and not s.failure]
        pending = live
        while True:
            stale_ones, examples = await self.check_live_queries(pending)
            lost, duplicated, expected, unexpected = self.check_event_streams()
            if not stale_ones and not lost:
                return len(live), 0, [], 0, duplicated, expected, unexpected, time.time() - last_write
            if time.time() - last_write > self.args.settle:
                return len(live), len(stale_ones), examples, lost, duplicated, expected, unexpected, None
            pending = stale_ones
            await asyncio.sleep(5)

    async def check_live_queries(self, live: list[Subscriber]) -> tuple[list[Subscriber], list[str]]:
        """Each live query's newest message against the same query over HTTP now: the stale ones."""
        keys = sorted({(s.document, orjson.dumps(s.variables), s.token) for s in live})
        requests = [(doc.replace("subscription", "query", 1), orjson.loads(var), token) for doc, var, token in keys]
        answers = dict(zip(keys, await fresh_answers(self.server.url, requests), strict=True))
        stale, examples = list[Subscriber](), list[str]()
        for s in live:
            fresh = answers[(s.document, orjson.dumps(s.variables), s.token)]
            last = last_payload(s)
            if last is None or orjson.loads(last) != orjson.loads(fresh):
                stale.append(s)
                if len(examples) < 3:
                    examples.append(f"{s.kind}: got {(last or b'')[:160]!r}, fresh {fresh[:160]!r}")
        return stale, examples

    def check_event_streams(self) -> tuple[int, int, int, int]:
        """Each stream whose filter takes order.created must have received exactly the orders
        written since it subscribed (its roles see every order's events); the others, none of them.
        (lost, duplicated, expected, unexpected)."""
        expected_total = lost = duplicated = unexpected = 0
        for s in self.active:
            if s.kind != "events" or s.failure or s.subscribed_at is None:
                continue
            # No write is in flight while subscribers connect: a stream sees every write sent after it subscribed.
            wanted = '"order.created"' in s.document
            expected = {w.order_id for w in self.writer.writes if wanted and w.order_id and w.sent > s.subscribed_at}
            received = s.event_ids
            duplicated += len(received) - len(set(received))
            expected_total += len(expected)
            lost += len(expected - set(received))
            unexpected += len(set(received) - expected)
        return lost, duplicated, expected_total, unexpected

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.writer.close()


# -- report ---------------------------------------------------------------------------------------


def report(args: argparse.Namespace, windows: list[Window], people: People, notes: list[str]) -> str:
    command = "python -m bench.subscriptions " + shlex.join(sys.argv[1:])
    lines = [
        "# Subscriptions under load",
        "",
        f"- machine: {machine.describe()}",
        f"- `uname -a`: {' '.join(os.uname())}",
        f"- command: `{command}`",
        f"- organization {people.org_slug}: {len(people.customers)} customers and {len(people.reps)} account"
        " managers with tokens of their own; writes are `createOrder` (5 lines) for random subscribed customers",
        "",
        "| subscribers | connect s (failed) | writes (failed) | messages | latency p50 / p99 / max ms |"
        " live queries stale / checked | events lost / dup / expected | all right after s | repeats |"
        " stmts/write (idle stmts/s; with no subscriber) | server cores | PG cores | load cores | other cores |"
        " server RSS MB | KB/subscriber |",
        "|" + "---|" * 15,
    ]
    for w in windows:
        p50, p99, worst = (percentile(w.latencies, q) * 1000 for q in (0.5, 0.99, 1.0))
        per_write = w.statements[STATEMENTS] / max(w.writes, 1)
        baseline = "–" if w.baseline_statements_per_write is None else f"{w.baseline_statements_per_write:.1f}"
        lines.append(
            f"| {w.subscribers:,} | {w.connect_seconds:.1f} ({w.connect_failures}) | {w.writes:,} ({w.write_failures})"
            f" | {w.messages:,} | {p50:.0f} / {p99:.0f} / {worst:.0f} ({len(w.latencies):,})"
            f" | {w.live_stale} / {w.live_checked:,} | {w.events_lost} / {w.events_duplicated} / {w.events_expected:,}"
            f" | {'–' if w.settled_seconds is None else f'{w.settled_seconds:.1f}'}"
            f" | {w.repeats} | {per_write:.1f} ({w.idle_statements_per_second:.0f}; {baseline})"
            f" | {w.server_cores:.2f} | {w.postgres_cores:.2f}"
            f" | {w.load_cores:.2f} | {w.other_cores:.2f} | {w.server_rss / 2**20:.0f}"
            f" | {w.rss_per_subscriber / 1024:.1f} |"
        )
    lines += ["", "Statements per window, by kind (select / write / transaction control / other):", ""]
    for w in windows:
        lines.append(
            f"- {w.subscribers:,} subscribers: {w.statements[STATEMENTS]:,} statements for {w.writes:,} writes:"
            f" {w.statements[SELECTS]:,} / {w.statements[WRITES]:,} / {w.statements[TRANSACTION]:,} /"
            f" {w.statements[STATEMENTS] - w.statements[SELECTS] - w.statements[WRITES] - w.statements[TRANSACTION]:,};"
            f" window {w.seconds:.1f} s; with no write the server sent {w.idle_statements_per_second:.1f} statements/s"
            f" and used {w.idle_server_cores:.2f} cores; machine {w.machine_cores:.2f} cores busy"
            f" (proxy {w.proxy_cores:.2f});"
            f" load process RSS {w.load_rss / 2**20:.0f} MB, its loop late by p50 / p99 / max"
            f" {percentile(w.load_lags, 0.5) * 1000:.0f} / {percentile(w.load_lags, 0.99) * 1000:.0f} /"
            f" {percentile(w.load_lags, 1.0) * 1000:.0f} ms (a message is timed when that loop gets to it);"
            f" event messages after their write's answer arrived, p50 / p99 / max"
            f" {percentile(w.after_answers, 0.5) * 1000:.0f} / {percentile(w.after_answers, 0.99) * 1000:.0f} /"
            f" {percentile(w.after_answers, 1.0) * 1000:.0f} ms (the commit precedes the answer: a lower bound)"
        )
        answered = [write.done - write.sent for write in w.write_log if write.done]
        failures = [write.failure for write in w.write_log if write.failure][:3]
        lines.append(
            f"  - writes answered in p50 {percentile(answered, 0.5) * 1000:.0f}"
            f" / p99 {percentile(answered, 0.99) * 1000:.0f} / max {percentile(answered, 1.0) * 1000:.0f} ms"
            + (f"; failed writes, e.g. {failures}" if failures else "")
        )
        if w.collector_pauses:
            pauses = "; ".join(
                f"generation {generation}: {count:.0f} ({seconds * 1000:.0f} ms)"
                for generation, (count, seconds) in w.collector_pauses.items()
            )
            lines.append(f"  - the server's cyclic-collector pauses in the window (loop stopped): {pauses}")
        if w.events_unexpected:
            lines.append(f"  - events received that no write of the window explains: {w.events_unexpected}")
        for kind, values in sorted(w.latencies_by_kind.items()):
            p50, p99, worst = (percentile(values, q) * 1000 for q in (0.5, 0.99, 1.0))
            lines.append(
                f"  - latency of {kind} messages: p50 {p50:.0f} / p99 {p99:.0f} / max {worst:.0f} ms ({len(values):,})"
            )
        for example in w.stale_examples:
            lines.append(f"  - stale: `{example}`")
        for failure in w.subscriber_failures:
            lines.append(f"  - subscriber failure: `{failure}`")
    lines += ["", *notes]
    return "\n".join(lines) + "\n"


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.subscriptions", description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--port", type=int, default=8790, help="the server's port (started here)")
    parser.add_argument("--subscribers", default="1000,10000", help="levels, measured in order")
    parser.add_argument("--writes-per-second", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=60, help="writes per window")
    parser.add_argument("--idle-seconds", type=float, default=10, help="before each window, no writes, measured")
    parser.add_argument("--baseline-seconds", type=float, default=5, help="writes with nobody subscribed (0: none)")
    parser.add_argument("--settle", type=float, default=120, help="after the writes, wait up to this for quiet")
    parser.add_argument("--mix", default="", help="shares, e.g. dashboards=0.01,events=0.1,reps=0.3")
    parser.add_argument("--customers", type=int, default=5000, help="distinct subscribed customers (at most)")
    parser.add_argument("--reps", type=int, default=0, help="distinct subscribed account managers (0: all)")
    parser.add_argument("--integrations", type=int, default=100, help="event stream readers (users)")
    parser.add_argument("--connect-concurrency", type=int, default=200, help="handshakes in flight")
    parser.add_argument("--write-connections", type=int, default=32)
    parser.add_argument("--signing-key", type=Path, default=None)
    parser.add_argument("--server-env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--keep-orders", action="store_true", help="keep the orders the bench wrote (removed afterwards by default)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="serve --workers N (default 1: the issue's one server process)"
    )
    parser.add_argument(
        "--no-proxy", action="store_true", help="the server connects to PostgreSQL directly (no statement counts)"
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> str:
    if not args.database_url:
        raise SystemExit("bench: set DATABASE_URL or --database-url (a migrated, seeded database)")
    levels = sorted(int(v) for v in args.subscribers.split(","))
    dsn = conninfo(args.database_url)
    settings = signing_settings(args.signing_key)
    people = prepare(dsn, settings, args.customers, args.reps, args.integrations, products=200, seed=args.seed)
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    proxy = CountingProxy(str(info.get("host") or "127.0.0.1"), int(info.get("port") or 5432))
    served_url = args.database_url
    if not args.no_proxy:
        served_url = served_url.replace(f":{info.get('port') or 5432}/", f":{proxy.start()}/", 1)
    # What the bench writes is taken out again afterwards: the dashboards aggregate every order,
    # so a database that kept each run's 6,000 would make every run heavier than the one before.
    written_after = newest_rows(dsn)
    vacuum(dsn)
    server = start_server(args, served_url, settings.signing_keys[0])
    notes: list[str] = []
    try:
        bench = Bench(args, people, server, proxy, dsn)
        await asyncio.sleep(2)
        bench.baseline_rss = server.rss()
        baseline = await bench.baseline()
        everyone = build_subscribers(levels[-1], Mix.parse(args.mix), people)
        windows = []
        for level in levels:
            progress(f"connecting up to {level} subscribers")
            connect = await bench.grow(everyone[:level])
            settle_collector()
            windows.append(await bench.window(level, baseline, connect))
        await bench.close()
        notes.append(f"Server RSS with no subscriber: {bench.baseline_rss / 2**20:.0f} MB. {bench.baseline_note}")
    finally:
        server.stop()
        proxy.stop()
        if not args.keep_orders:
            removed = remove_rows_after(dsn, written_after)
            progress(f"removed what the bench wrote (--keep-orders keeps it): {removed}")
            vacuum(dsn)
    return report(args, windows, people, notes)


# What a write leaves behind: its order (lines go with it), its event and its audit record.
WRITTEN_TABLES = ("orders", "outbox", "audit_log")


def newest_rows(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn, **SESSION) as conn:
        newest = {}
        for table in WRITTEN_TABLES:
            row = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
            newest[table] = int(row[0]) if row is not None else 0
        return newest


def remove_rows_after(dsn: str, newest: dict[str, int]) -> str:
    """Deletes what the bench wrote: its draft orders (and their lines), their events and audit
    records. Left in place, each run's ~6,000 of each made the next run's reads and the database's
    clean-up heavier, and alternated runs drifted apart in the order they ran."""
    with psycopg.connect(dsn, **SESSION) as conn, conn.transaction():
        counts = {
            table: conn.execute(f"DELETE FROM {table} WHERE id > %s", (newest[table],)).rowcount
            for table in WRITTEN_TABLES
        }
    return ", ".join(f"{count} {table}" for table, count in counts.items())


def vacuum(dsn: str) -> None:
    """Dead rows and stale statistics of earlier runs cleaned before a run and after it, not
    by autovacuum in the middle of a window."""
    with psycopg.connect(dsn, **SESSION) as conn:
        for table in (*WRITTEN_TABLES, "order_lines"):
            conn.execute(f"VACUUM (ANALYZE) {table}")


def settle_collector() -> None:
    """The load process's own cyclic collector, out of the window's way. It holds every
    subscriber's socket, state and latencies (about 500 MB at 10,000): with CPython's thresholds
    its full collections walked all of it and held its loop for up to 2.5 s, and a message is
    timed when that loop gets to it, so the pause was added to every latency measured meanwhile.
    What exists now is frozen (never collected again) and young collections come every 50,000
    allocations, as in the server (``app/server.py``)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_file_limit()  # the server inherits it
    sys.stdout.write(asyncio.run(run(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
