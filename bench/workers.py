"""Throughput of ``bizgraph serve --workers N`` for a simple query, N = 1 and 2 (and more with
``--workers``), measured with ``wrk`` in interleaved rounds; prints a Markdown table, the ratios
to one worker, the machine and the command.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bizgraph_bench \\
        .venv/bin/python -m bench.workers --rounds 3 --duration 10 --connections 16,64

It starts (and stops) the servers itself, on the database ``DATABASE_URL`` names, which must be
migrated and seeded (``bizgraph seed``); it signs in as the first organization's admin with a
throwaway signing key. ``wrk`` comes from the distribution (``apt-get install wrk``). Each cell
starts a fresh server, waits for every worker to listen, warms up, then measures; rounds
interleave the worker counts so that a noisy neighbour spreads over all of them, and the table
shows the median of the rounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import orjson
import psycopg

from app.auth.keys import write_new_es256_key
from app.config import libpq_conninfo, parse_database_url
from bench.served import BIZGRAPH, Served

QUERY = "{ customers(first: 10) { edges { node { id name email segment country } } } }"


def _admin(database_url: str) -> tuple[str, str]:
    with psycopg.connect(libpq_conninfo(parse_database_url(database_url, "DATABASE_URL"))) as connection:
        row = connection.execute(
            "SELECT o.slug, u.email FROM users u JOIN organizations o ON o.id = u.org_id"
            " WHERE 'admin' = ANY(u.roles) ORDER BY o.id, u.id LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("no admin user: seed the database first (bizgraph seed)")
    return row[0], row[1]


def _listeners(database_url: str) -> int:
    with psycopg.connect(libpq_conninfo(parse_database_url(database_url, "DATABASE_URL"))) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'bizgraph-listener'"
        ).fetchone()
    return int(row[0]) if row else 0


def _wrk(origin: str, script: Path, connections: int, seconds: float) -> tuple[float, float, float, int]:
    """req/s, p50 and p99 in ms, and the count of non-2xx answers."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), origin + "/graphql"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return rps, _ms(out, "50%"), _ms(out, "99%"), errors


def _ms(out: str, percentile: str) -> float:
    match = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)", out)
    if match is None:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    parser.add_argument("--connections", default="16,64", help="wrk connections per cell (default 16,64)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=3.0, help="unrecorded seconds per cell")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("DATABASE_URL or --database-url is needed")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk)")
    worker_counts = [int(n) for n in args.workers.split(",")]
    connection_counts = [int(n) for n in args.connections.split(",")]
    slug, email = _admin(args.database_url)
    work = Path(tempfile.mkdtemp(prefix="bizgraph-bench-workers-"))
    key = write_new_es256_key(work / "signing.pem")
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "BIZGRAPH_SIGNING_KEYS": str(key),
        "BIZGRAPH_LOG_LEVEL": "WARNING",
        "BIZGRAPH_CHECK_TOKEN_USERS": "false",
        # One issuer for the token and every server, whatever port each one gets.
        "BIZGRAPH_ISSUER": "http://127.0.0.1:8000",
    }
    token = subprocess.run(
        [BIZGRAPH, "issue-token", "--org", slug, "--email", email, "--ttl", "3600"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    script = work / "query.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [[{orjson.dumps({'query': QUERY}).decode()}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    results: dict[tuple[int, int], list[tuple[float, float, float, int]]] = {}
    for round_number in range(1, args.rounds + 1):
        # Interleaved: 1, 2, 1, 2 … within each round, the order flipped every other round.
        order = worker_counts if round_number % 2 else list(reversed(worker_counts))
        for workers in order:
            server = Served(env, work / f"server-{round_number}-{workers}.log", workers=workers)
            try:
                # Each worker holds its listener once it is ready.
                server.wait_ready(also=lambda count=workers: _listeners(args.database_url) >= count)
                answer = httpx.post(
                    server.origin + "/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {token}"}
                ).json()
                if "errors" in answer or not answer["data"]["customers"]["edges"]:
                    raise SystemExit(f"the query does not answer as expected: {answer}")
                for connections in connection_counts:
                    _wrk(server.origin, script, connections, args.warmup)
                    cell = _wrk(server.origin, script, connections, args.duration)
                    results.setdefault((workers, connections), []).append(cell)
                    print(
                        f"round {round_number}: {workers} worker(s), {connections} connections: {cell[0]:.0f} req/s",
                        file=sys.stderr,
                    )
            finally:
                server.stop()
    shutil.rmtree(work, ignore_errors=True)
    _report(args, argv, results, worker_counts, connection_counts)
    return 0


def _report(
    args: argparse.Namespace,
    argv: list[str] | None,
    results: dict[tuple[int, int], list[tuple[float, float, float, int]]],
    worker_counts: list[int],
    connection_counts: list[int],
) -> None:
    command = " ".join(["python -m bench.workers", *(argv if argv is not None else sys.argv[1:])])
    print(f"# bizgraph serve --workers N: `{QUERY}`\n")
    machine = f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}"
    print(f"- machine: {machine}")
    rounds = f"median of {args.rounds} interleaved rounds of {args.duration:g} s after {args.warmup:g} s"
    print(f"- command: `{command}` (wrk -t1, {rounds})")
    print("- PostgreSQL, the server's workers and wrk share the machine's cores.\n")
    columns = ["workers", "conns", "req/s (median)", "each round's req/s", "p50 ms", "p99 ms", "errors"]
    columns += ["each round's ratio", "median ratio"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for connections in connection_counts:
        base_cells = results[(worker_counts[0], connections)]
        for workers in worker_counts:
            cells = results[(workers, connections)]
            # A round's cells ran one after the other: their ratio is the least disturbed comparison.
            ratios = [c[0] / b[0] for c, b in zip(cells, base_cells, strict=True)]
            row = [
                workers,
                connections,
                f"{statistics.median(c[0] for c in cells):.0f}",
                ", ".join(f"{c[0]:.0f}" for c in cells),
                f"{statistics.median(c[1] for c in cells):.1f}",
                f"{statistics.median(c[2] for c in cells):.1f}",
                sum(c[3] for c in cells),
                ", ".join(f"{r:.2f}" for r in ratios),
                f"{statistics.median(ratios):.2f}",
            ]
            print("| " + " | ".join(str(cell) for cell in row) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
