"""Server CPU per ``createOrder`` (5 lines): ``python -m bench.write_cpu NAME=PORT [NAME=PORT ...]``.

For each running server (``bizgraph serve --workers 1 --port PORT``, found by its port), round
after round and interleaved, sends ``--writes`` createOrder mutations (5 lines, quantity 1, random
products and customers of the measured organization, the same request shape as bench/subscriptions)
at ``--concurrency``, and reads the server process's CPU time (utime + stime, /proc/PID/stat)
before and after: milliseconds of server CPU per write; and the same for the PostgreSQL backends
serving that process (found by their client ports), so that work moved from the server to the
database shows. Interleaving the servers puts them under
the same noise; the median over the rounds is the number to compare. Every answer is checked:
a write answered with errors stops the run (it would measure a refusal, not a write).

It changes its database: every write creates a draft order (with its audit row and event).
Tokens come from each server's own /oauth/token (the admin demo user), before any measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
from dataclasses import dataclass

import httpx
import psycopg

from bench import machine
from bench.auth import demo_email, demo_token
from bench.workloads import global_id

CREATE_ORDER = (
    "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id } errors { code field message } } }"
)
LINES = 5


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    pid: int
    token: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"


def server_pid(port: int) -> int:
    """The process listening on ``port`` (one worker: the process that runs the app)."""
    pid = machine.listening_pid(port)
    if pid is None:
        raise SystemExit(f"write_cpu: nothing listens on port {port}")
    return pid


def backend_pids(database_url: str, server: int) -> list[int]:
    """The PostgreSQL backends whose client sockets the process ``server`` holds."""
    out = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True, text=True, check=True).stdout
    ports = {
        int(line.split()[2].rsplit(":", 1)[1]) for line in out.splitlines() if f"pid={server}," in line and ":" in line
    }
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL").fetchall()
    return [pid for pid, port in rows if port in ports]


def sample(database_url: str, org_slug: str) -> tuple[list[int], list[int]]:
    """Active customers and active products of the organization."""
    with psycopg.connect(database_url) as conn:
        org = conn.execute("SELECT id FROM organizations WHERE slug = %s", (org_slug,)).fetchone()
        if org is None:
            raise SystemExit(f"write_cpu: no organization {org_slug!r}")
        customers = [
            r[0] for r in conn.execute("SELECT id FROM customers WHERE org_id = %s AND status = 'active'", org)
        ]
        products = [r[0] for r in conn.execute("SELECT id FROM products WHERE org_id = %s AND active", org)]
    return customers, products


def body(rng: random.Random, customers: list[int], products: list[int]) -> dict[str, object]:
    lines = [
        {"productId": global_id("Product", pk), "quantity": 1, "discount": "0"} for pk in rng.sample(products, LINES)
    ]
    return {
        "query": CREATE_ORDER,
        "variables": {"input": {"customerId": global_id("Customer", rng.choice(customers)), "lines": lines}},
    }


async def send(target: Target, bodies: list[dict[str, object]], concurrency: int) -> None:
    queue = list(reversed(bodies))
    headers = {"Authorization": f"Bearer {target.token}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:

        async def worker() -> None:
            while queue:
                response = await client.post(target.url, json=queue.pop())
                answer = response.json()
                if response.status_code != 200 or "errors" in answer or answer["data"]["createOrder"]["errors"]:
                    raise SystemExit(f"write_cpu: {target.name} answered {response.status_code}: {response.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="+", help="NAME=PORT of a running server (one worker)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--org", default="acme")
    parser.add_argument("--writes", type=int, default=500, help="writes per server per round")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured writes per server before the first round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("write_cpu: set DATABASE_URL or --database-url")
    customers, products = sample(args.database_url, args.org)
    targets = []
    for spec in args.targets:
        name, port = spec.split("=", 1)
        url = f"http://127.0.0.1:{port}/graphql"
        targets.append(Target(name, int(port), server_pid(int(port)), demo_token(url, demo_email("admin", args.org))))
    rng = random.Random(args.seed)
    for target in targets:
        asyncio.run(send(target, [body(rng, customers, products) for _ in range(args.warmup)], args.concurrency))
    results: dict[str, list[float]] = {t.name: [] for t in targets}
    database: dict[str, list[float]] = {t.name: [] for t in targets}
    for round_no in range(1, args.rounds + 1):
        for target in targets:
            bodies = [body(rng, customers, products) for _ in range(args.writes)]
            backends = backend_pids(args.database_url, target.pid)
            # A backend that ended meanwhile takes its time with it (it counts nothing).
            before, before_pg = machine.cpu_seconds([target.pid]), machine.cpu_seconds(backends)
            asyncio.run(send(target, bodies, args.concurrency))
            ms = 1000 * (machine.cpu_seconds([target.pid]) - before) / args.writes
            pg_ms = 1000 * (machine.cpu_seconds(backends) - before_pg) / args.writes
            results[target.name].append(ms)
            database[target.name].append(pg_ms)
            print(
                f"round {round_no}  {target.name:<10} server CPU {ms:.3f} ms/write"
                f"  PostgreSQL backends {pg_ms:.3f} ms/write ({len(backends)})",
                flush=True,
            )
    for name, values in results.items():
        print(
            f"{name:<10} server median {statistics.median(values):.3f} ms/write"
            f" ({', '.join(f'{v:.3f}' for v in values)});"
            f" PostgreSQL backends median {statistics.median(database[name]):.3f} ms/write"
        )


if __name__ == "__main__":
    main()
