"""``python -m bench.webhooks``: how fast ``bizgraph worker`` delivers, on demand (never in the suite).

Makes a database of its own on the PostgreSQL at ``--server`` (migrated, tiny seed), registers one
endpoint of acme pointing at a receiver on loopback in this process, and starts real
``bizgraph worker`` processes:

1. **throughput**: ``--events`` events committed at once (spread over ``--entities`` entities, so
   per-entity order still lets deliveries run side by side), then N workers started; deliveries per
   second from the first worker's start to the last arrival, for 1 and 2 workers;
2. **latency**: one worker running, events committed one by one at ``--rate`` per second for
   ``--seconds``; per event, receiver arrival minus the moment its commit returned (p50/p99/max).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from app.delivery.secrets import SecretBox
from app.delivery.settings import demo_key
from app.migrations import upgrade
from app.seed import run_seed
from bench.machine import CLOCK_TICKS, describe
from bench.webhooks.receiver import Arrivals, receiving

BIZGRAPH = str(Path(sys.executable).parent / "bizgraph")
DATABASE = "bizgraph_bench_webhooks"
ORG = 1


def _prepare(server: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    url = make_url(server).set(database=DATABASE)
    upgrade(url)
    run_seed(url, scale="tiny", seed=7, reset=False, progress=False)
    return url.render_as_string(hide_password=False)


def _endpoint(url: str, target: str, concurrency: int) -> None:
    sealed = SecretBox((demo_key(),)).seal("whsec_" + "A" * 43 + "=")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM webhook_endpoints")
        conn.execute(
            "INSERT INTO webhook_endpoints (org_id, url, event_types, secret_sealed, max_concurrency,"
            " start_after_position) VALUES (%s, %s, ARRAY['product.updated'], %s, %s,"
            " (SELECT coalesce(max(position), 0) FROM outbox WHERE org_id = %s))",
            (ORG, target, sealed, concurrency, ORG),
        )


def _products(url: str, count: int) -> list[int]:
    """Entity ids the events are about: made up (the worker reads no entity), so any number of
    them can be in flight side by side; events of one id still go one at a time, in order."""
    return list(range(1_000_001, 1_000_001 + count))


def _commit_batch(url: str, products: list[int], events: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload)"
            " SELECT %s, 'product.updated', 'Product', (%s::bigint[])[1 + n %% %s],"
            " jsonb_build_object('sku', 'BENCH-' || n, 'fields', jsonb_build_array('name'))"
            " FROM generate_series(1, %s) AS n",
            (ORG, products, len(products), events),
        )


def _worker_env(url: str, concurrency: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "BIZGRAPH_WEBHOOK_SECRET_KEYS": demo_key(),
        "BIZGRAPH_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "BIZGRAPH_WEBHOOK_ALLOW_HTTP": "true",
        "BIZGRAPH_WEBHOOK_WORKER_CONCURRENCY": str(concurrency),
        "BIZGRAPH_LOG_LEVEL": "WARNING",
    }


async def _workers(url: str, count: int, concurrency: int) -> list[asyncio.subprocess.Process]:
    env = _worker_env(url, concurrency)
    return [
        await asyncio.create_subprocess_exec(BIZGRAPH, "worker", env=env, stdout=asyncio.subprocess.DEVNULL)
        for _ in range(count)
    ]


def _cpu_seconds(processes: list[asyncio.subprocess.Process]) -> float:
    """User and system CPU time the worker processes used so far (from /proc)."""
    total = 0
    for process in processes:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        await process.wait()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def throughput(url: str, args: argparse.Namespace, workers: int) -> str:
    arrivals = Arrivals()
    async with receiving(arrivals) as target:
        _endpoint(url, target, args.endpoint_concurrency)
        _commit_batch(url, _products(url, args.entities), args.events)
        started = time.time()
        processes = await _workers(url, workers, args.worker_concurrency)
        try:
            await arrivals.wait_for(args.events, seconds=600)
            cpu = _cpu_seconds(processes)
        finally:
            await _stop(processes)
        elapsed = max(arrivals.first.values()) - started
    rate = args.events / elapsed
    return (
        f"| {workers} | {args.events} | {elapsed:.2f} s | {rate:.0f} /s | {rate / workers:.0f} /s |"
        f" {cpu / args.events * 1000:.1f} ms | {arrivals.copies - args.events} |"
    )


async def latency(url: str, args: argparse.Namespace) -> str:
    arrivals = Arrivals()
    committed: dict[int, float] = {}
    async with receiving(arrivals) as target:
        _endpoint(url, target, args.endpoint_concurrency)
        products = _products(url, args.entities)
        processes = await _workers(url, 1, args.worker_concurrency)
        await asyncio.sleep(2)  # the worker is up and listening
        try:
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
            async with conn:
                total = int(args.rate * args.seconds)
                start = time.monotonic()
                for n in range(total):
                    await asyncio.sleep(max(0.0, start + n / args.rate - time.monotonic()))
                    cursor = await conn.execute(
                        "INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload)"
                        " VALUES (%s, 'product.updated', 'Product', %s, '{\"sku\": \"L\", \"fields\": []}')"
                        " RETURNING id",
                        (ORG, products[n % len(products)]),
                    )
                    row = await cursor.fetchone()
                    assert row is not None
                    committed[row[0]] = time.time()  # autocommit: the commit has returned
            await arrivals.wait_for(total, seconds=120)
        finally:
            await _stop(processes)
    import base64

    waits = []
    for message_id, arrived in arrivals.first.items():
        event_id = int(base64.b64decode(message_id).decode().split(":")[1])
        waits.append((arrived - committed[event_id]) * 1000)
    return (
        f"| {args.rate:g}/s for {args.seconds:g} s | {len(waits)} | {statistics.median(waits):.1f} ms |"
        f" {_percentile(waits, 0.99):.1f} ms | {max(waits):.1f} ms |"
    )


async def main(args: argparse.Namespace) -> None:
    url = _prepare(args.server)
    print(f"- machine: {describe()}; load average at the start {os.getloadavg()[0]:.2f} (a shared machine)")
    print(f"- command: `python -m bench.webhooks {' '.join(sys.argv[1:])}`")
    print(
        f"- events spread over {args.entities} entities (made-up product ids);"
        f" endpoint maxConcurrency {args.endpoint_concurrency},"
        f" worker concurrency {args.worker_concurrency}; receiver answers 200 at once, in the bench's process\n"
    )
    print(
        "| workers | events | first worker start → last arrival | deliveries/s | per worker"
        " | worker CPU per delivery (start-up included) | duplicates |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for workers in (1, 2) if not args.latency_only else ():
        print(await throughput(url, args, workers), flush=True)
    print(f"\n- load average before the latency run {os.getloadavg()[0]:.2f}\n")
    print("| commit rate | events | p50 commit → receiver | p99 | max |")
    print("| --- | --- | --- | --- | --- |")
    print(await latency(url, args), flush=True)
    with psycopg.connect(args.server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument(
        "--server", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--entities", type=int, default=500)
    parser.add_argument("--endpoint-concurrency", type=int, default=32)
    parser.add_argument("--worker-concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--latency-only", action="store_true", help="skip the throughput runs")
    asyncio.run(main(parser.parse_args()))
