"""What metrics and traces cost: the load bench's Q1 (and any other workload) against three servers
on the same database, side by side in one run: observability off, ``/metrics`` on, and ``/metrics``
on with traces sampled at 1 % (exported over OTLP/HTTP to a sink in this process); prints each
configuration's req/s, latencies and ratio to "off".

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bizgraph_bench \\
        .venv/bin/python -m bench.observability --rounds 3 --duration 10 --concurrency 16

It starts (and stops) the servers itself (``bizgraph serve --workers 1``: one process each, so
the comparison is of the code, not of the scheduler), all three before the first cell, on the
database ``DATABASE_URL`` names, which must be migrated and seeded; it signs in as the first
organization's admin with a throwaway signing key. Rounds interleave the configurations (the
order rotates every round) so a noisy neighbour spreads over all of them; the table shows the
median of the rounds and each round's ratio, measured minutes apart at most. The load is
``bench/load.py``'s closed loop, each cell through ``bench/cells.py`` (waits for a quiet machine,
re-measures a disturbed cell).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from app.auth.keys import write_new_es256_key
from app.config import libpq_conninfo, parse_database_url
from bench import cells, load, machine, workloads
from bench.report import progress
from bench.served import BIZGRAPH, Served
from bench.workers import _admin

METRICS_TOKEN = secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Configuration:
    name: str
    env: dict[str, str]


def configurations(sample_ratio: float, sink: str) -> list[Configuration]:
    metrics = {"BIZGRAPH_METRICS_TOKEN": METRICS_TOKEN}
    traces = {
        "BIZGRAPH_TRACING": "on",
        "BIZGRAPH_TRACING_SAMPLE_RATIO": str(sample_ratio),
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": sink,
    }
    return [
        Configuration("off", {}),
        Configuration("metrics", metrics),
        Configuration(f"metrics + traces {sample_ratio:.0%}", {**metrics, **traces}),
    ]


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that only counts: proof that the traced server exported."""

    exports: ClassVar[int] = 0
    spans: ClassVar[int] = 0
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        request = ExportTraceServiceRequest.FromString(body)
        count = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
        with self.lock:
            type(self).exports += 1
            type(self).spans += count
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Row:
    configuration: str
    concurrency: int
    cells: list[load.Measurement] = field(default_factory=list)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.observability", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--workloads", default="Q1", help="comma-separated subset of Q1,Q2,Q3,Q4 (default Q1)")
    parser.add_argument("--concurrency", default="16", help="comma-separated connection counts (default 16)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per cell (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unrecorded seconds before each cell (default 2)")
    parser.add_argument("--sample-ratio", type=float, default=0.01, help="traces' sample ratio (default 0.01)")
    parser.add_argument("--sample", type=int, default=1000, help="how many customer ids Q1 cycles through")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--quiet-wait", type=float, default=10.0, help="wait up to this long for an idle machine")
    parser.add_argument("--retries", type=int, default=1, help="measure a disturbed cell again (default 1)")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("DATABASE_URL or --database-url is needed")
    args.workload_keys = [key.strip().upper() for key in args.workloads.split(",") if key.strip()]
    unknown = [key for key in args.workload_keys if key not in workloads.ALL]
    if unknown:
        parser.error(f"unknown workloads {unknown}: choose from {', '.join(workloads.ALL)}")
    args.concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dsn = libpq_conninfo(parse_database_url(args.database_url, "DATABASE_URL"))
    slug, email = _admin(args.database_url)
    work = Path(tempfile.mkdtemp(prefix="bizgraph-bench-observability-"))
    key = write_new_es256_key(work / "signing.pem")
    base_env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "BIZGRAPH_SIGNING_KEYS": str(key),
        # No request log lines (INFO) and no access log: what is measured is metrics and traces.
        "BIZGRAPH_LOG_LEVEL": "WARNING",
        "BIZGRAPH_CHECK_TOKEN_USERS": "false",
        "BIZGRAPH_MAX_PAGE_SIZE": "1000",
        # The token and the servers agree on the issuer, whatever a demo recorded for the CLI.
        "BIZGRAPH_DATA_DIR": str(work),
        "BIZGRAPH_ISSUER": "http://127.0.0.1:8000",
    }
    for name in ("BIZGRAPH_METRICS_TOKEN", "BIZGRAPH_TRACING", "BIZGRAPH_TRACING_SAMPLE_RATIO"):
        base_env.pop(name, None)
    token = subprocess.run(
        [BIZGRAPH, "issue-token", "--org", slug, "--email", email, "--ttl", "7200"],
        env=base_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    sink_url = f"http://127.0.0.1:{sink.server_port}/v1/traces"
    chosen = configurations(args.sample_ratio, sink_url)
    servers: dict[str, Served] = {}
    try:
        for configuration in chosen:
            progress(f"starting the server: {configuration.name}")
            log = work / f"server-{len(servers) + 1}.log"
            server = Served({**base_env, **configuration.env}, log)
            servers[configuration.name] = server
            server.wait_ready()
        rows, answered = asyncio.run(measure(args, dsn, token, chosen, servers))
    finally:
        for server in servers.values():
            server.stop()
        sink.shutdown()
    report(args, argv, chosen, rows, answered, email)
    for name, server in servers.items():
        if server.log.stat().st_size:
            progress(f"the server '{name}' logged: {server.log}")
    return 0


async def measure(
    args: argparse.Namespace,
    dsn: str,
    token: str,
    chosen: list[Configuration],
    servers: dict[str, Served],
) -> tuple[dict[tuple[str, str, int], Row], dict[str, float]]:
    context = workloads.load_context(dsn, args.sample)
    measured = workloads.build(args.workload_keys, context)
    for workload in measured:
        for server in servers.values():
            # Every server answers every workload with data before anything is measured.
            status, _, body = await load.post_once(
                server.origin + "/graphql", workload.query, workload.variables[0], token
            )
            if status != 200 or "errors" in body or not body.get("data"):
                raise SystemExit(f"{workload.key} does not answer as expected ({status}): {str(body)[:500]}")
    rows: dict[tuple[str, str, int], Row] = {}
    postgres = _postgres_pid(dsn)
    for round_number in range(args.rounds):
        # Rotated each round: no configuration always runs first (or right after another).
        order = chosen[round_number % len(chosen) :] + chosen[: round_number % len(chosen)]
        for workload in measured:
            for concurrency in args.concurrencies:
                for configuration in order:
                    server = servers[configuration.name]
                    url = server.origin + "/graphql"
                    parties = machine.Parties(server=server.process.pid, postgres=postgres)
                    label = f"round {round_number + 1}: {workload.key} × {concurrency} {configuration.name}"
                    cell = await cells.measure_cell(
                        args,
                        label,
                        lambda url=url, workload=workload, concurrency=concurrency, parties=parties: load.measure_http(
                            url,
                            workload.query,
                            workload.variables,
                            concurrency,
                            args.warmup,
                            args.duration,
                            args.max_requests,
                            args.timeout,
                            token,
                            parties,
                        ),
                    )
                    key = (workload.key, configuration.name, concurrency)
                    rows.setdefault(key, Row(configuration.name, concurrency)).cells.append(cell)
    # What the instrumented servers saw: /metrics counted the requests, the sink got spans.
    answered: dict[str, float] = {}
    for configuration in chosen:
        if "BIZGRAPH_METRICS_TOKEN" in configuration.env:
            answered[configuration.name] = _requests_counted(servers[configuration.name].origin)
    return rows, answered


def _postgres_pid(dsn: str) -> int | None:
    from psycopg.conninfo import conninfo_to_dict

    port = conninfo_to_dict(dsn).get("port") or 5432
    return machine.listening_pid(int(port))


def _requests_counted(origin: str) -> float:
    text = httpx.get(origin + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("bizgraph_graphql_requests_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _median_cpu_per_request(measured: list[load.Measurement]) -> float:
    """Microseconds of the server's CPU per request (nan when its process was not found)."""
    values = [m.cpu.server * m.seconds / m.requests * 1e6 for m in measured if m.cpu is not None and m.requests]
    values = [value for value in values if value == value]
    return statistics.median(values) if values else float("nan")


def report(
    args: argparse.Namespace,
    argv: list[str] | None,
    chosen: list[Configuration],
    rows: dict[tuple[str, str, int], Row],
    answered: dict[str, float],
    email: str,
) -> None:
    command = shlex.join([sys.executable.rsplit("/", 1)[-1], "-m", "bench.observability", *(argv or sys.argv[1:])])
    print("# bizgraph: the cost of metrics and traces\n")
    print(f"- machine: {machine.describe()}")
    print(f"- command: `{command}`")
    print(
        f"- three `bizgraph serve --workers 1` processes on one database, measured in {args.rounds} interleaved"
        f" rounds (order rotated each round) of {args.duration:g} s after {args.warmup:g} s warm-up per cell;"
        " closed loop, one request in flight per connection; `BIZGRAPH_LOG_LEVEL=WARNING` (no request log lines)"
    )
    print(
        f"- principal: {email}; traces sampled at {args.sample_ratio:.2%} (parent-based, no caller traceparent),"
        f" exported over OTLP/HTTP to a sink in the bench process: {_Sink.spans:,} spans in {_Sink.exports:,} exports"
    )
    counted = ", ".join(f"{name}: {total:,.0f}" for name, total in answered.items())
    print(f"- requests counted by /metrics (including warm-ups): {counted}")
    print("- PostgreSQL, the servers and the load generator share the machine's cores.\n")
    columns = ["workload", "conns", "configuration", "req/s (median)", "each round's req/s", "p50 ms", "p99 ms"]
    columns += ["errors", "each round's ratio to off", "median ratio", "overhead", "server CPU µs/request", "CPU ratio"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for workload_key in args.workload_keys:
        for concurrency in args.concurrencies:
            base = rows[(workload_key, chosen[0].name, concurrency)].cells
            for configuration in chosen:
                measured = rows[(workload_key, configuration.name, concurrency)].cells
                # A round's cells ran minutes apart at most: their ratio is the least disturbed comparison.
                ratios = [m.rps / b.rps for m, b in zip(measured, base, strict=True) if b.rps]
                median_ratio = statistics.median(ratios) if ratios else float("nan")
                # The server's own CPU per request: what the instrumentation adds, and far less
                # disturbed than req/s by whatever else shares the machine.
                cpu = _median_cpu_per_request(measured)
                base_cpu = _median_cpu_per_request(base)
                row = [
                    workload_key,
                    concurrency,
                    configuration.name,
                    f"{statistics.median(m.rps for m in measured):,.0f}",
                    ", ".join(f"{m.rps:,.0f}" for m in measured),
                    f"{statistics.median(m.percentile(50) for m in measured):.1f}",
                    f"{statistics.median(m.percentile(99) for m in measured):.1f}",
                    sum(m.errors for m in measured),
                    ", ".join(f"{r:.3f}" for r in ratios),
                    f"{median_ratio:.3f}",
                    "–" if configuration is chosen[0] else f"{(1 - median_ratio):+.1%}",
                    f"{cpu:,.0f}",
                    f"{cpu / base_cpu:.3f}" if base_cpu == base_cpu and base_cpu else "–",
                ]
                print("| " + " | ".join(str(cell) for cell in row) + " |")
    disturbed = [
        f"- {key[0]} × {key[2]} {key[1]}, round {index + 1}: other work {m.cpu.other:.2f} cores"
        for key, row in rows.items()
        for index, m in enumerate(row.cells)
        if m.cpu is not None and m.cpu.other >= 0.2
    ]
    if disturbed:
        print("\nCells disturbed by other work on the machine (numbers less trustworthy):\n")
        print("\n".join(disturbed))


if __name__ == "__main__":
    raise SystemExit(main())
