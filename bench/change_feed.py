"""What the change feed's triggers (alembic 0008) cost: two copies of one seeded database,
one migrated to 0007 (no triggers) and one to head, measured side by side.

- **Seed**: ``bizgraph seed --reset`` (COPY into emptied tables, then bulk INSERT…SELECT of
  the history) on each copy in turn, several times. Besides the wall-clock phases it samples
  the PostgreSQL backend's CPU time from /proc, which other work on a shared machine
  disturbs far less than wall-clock time.
- **Statements**: single-row and 10,000-row INSERT, UPDATE and DELETE under
  ``EXPLAIN ANALYZE``: PostgreSQL's own execution time and the ``announce_*`` triggers' share.
- **Commits**: autocommit single-row statements as a client sees them (execute, commit and
  its NOTIFY), alternating statement by statement between the copies so that any other load
  falls on both alike, with a change listener hearing the notifications.

On demand, never in the suite. It creates two databases on the server ``--admin-url``
names (as a superuser, on this machine: backend CPU is read from /proc) and drops them at
the end::

    .venv/bin/python -m bench.change_feed --admin-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL

from app.config import libpq_conninfo, parse_database_url
from app.live.changes import Change
from app.live.listener import ChangeListener
from app.migrations import upgrade
from bench.machine import CLOCK_TICKS, describe

WITHOUT, WITH = "0007", "head"
BIZGRAPH = Path(sys.executable).with_name("bizgraph")
SEEDED = re.compile(
    r"rows in (?P<total>[0-9.]+) s \(generate [0-9.]+ s, load (?P<load>[0-9.]+) s, indexes [0-9.]+ s, "
    r"history (?P<history>[0-9.]+) s"
)

SINGLE_ROW = {
    "1-row UPDATE products": "UPDATE products SET stock_on_hand = stock_on_hand + 1 WHERE id = {n}",
    "1-row INSERT audit_log": "INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id)"
    " VALUES ({org}, 'bench', 'bench.one', 'Product', {n})",
    "1-row DELETE audit_log": "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log) AND actor = 'bench'",
}
BULK = {
    "10k-row INSERT…SELECT audit_log": "INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id)"
    " SELECT 1 + g % 2, 'bench', 'bench.bulk', 'Product', g FROM generate_series(1, 10000) g",
    "10k-row UPDATE audit_log": "UPDATE audit_log SET entity_id = entity_id + 1 WHERE id > {mark}",
    "10k-row DELETE audit_log": "DELETE FROM audit_log WHERE id > {mark}",
}
COMMITTED = {
    "1-row UPDATE products": "UPDATE products SET stock_on_hand = stock_on_hand + 1 WHERE id = %s",
    "1-row INSERT audit_log": "INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id)"
    " VALUES (1, 'bench', 'bench.one', 'Product', %s)",
}


@contextmanager
def databases(admin: URL) -> Iterator[dict[str, URL]]:
    """The two copies, empty and migrated; dropped afterwards."""
    names = {WITHOUT: "bizgraph_feedbench_0007", WITH: "bizgraph_feedbench_head"}
    with psycopg.connect(libpq_conninfo(admin), autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    urls = {revision: admin.set(database=name) for revision, name in names.items()}
    try:
        for revision, url in urls.items():
            upgrade(url, revision)
        yield urls
    finally:
        with psycopg.connect(libpq_conninfo(admin), autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def seed_once(url: URL, admin: URL, scale: str) -> dict[str, float]:
    env = {**os.environ, "DATABASE_URL": libpq_conninfo(url)}
    command = [str(BIZGRAPH), "seed", "--scale", scale, "--reset"]
    seeding = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cpu: dict[int, float] = {}
    with psycopg.connect(libpq_conninfo(admin), autocommit=True) as watcher:
        while seeding.poll() is None:
            backends = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
                (url.database,),
            ).fetchall()
            for (pid,) in backends:
                if (seconds := _cpu_seconds(pid)) is not None:
                    cpu[pid] = max(cpu.get(pid, 0.0), seconds)
            time.sleep(0.1)
    output = seeding.stdout.read() if seeding.stdout else ""
    found = SEEDED.search(output)
    if seeding.returncode != 0 or found is None:
        raise SystemExit(f"seeding failed:\n{output}")
    return {**{key: float(value) for key, value in found.groupdict().items()}, "cpu": max(cpu.values(), default=0)}


def seed_table(urls: dict[str, URL], admin: URL, scale: str, runs: int) -> list[str]:
    results: dict[str, list[dict[str, float]]] = {WITHOUT: [], WITH: []}
    for _ in range(runs):
        for revision, url in urls.items():
            results[revision].append(seed_once(url, admin, scale))
    lines = [
        f"| seed --scale {scale}, median of {runs} | at 0007 | with the triggers | difference |",
        "| --- | --- | --- | --- |",
    ]
    labels = {"total": "total s", "load": "load (COPY) s", "history": "history (INSERT…SELECT) s"}
    labels["cpu"] = "PostgreSQL backend CPU s"
    for key, label in labels.items():
        before = statistics.median(run[key] for run in results[WITHOUT])
        after = statistics.median(run[key] for run in results[WITH])
        relative = f" ({after / before - 1:+.1%})" if before else ""
        lines.append(f"| {label} | {before:.2f} | {after:.2f} | {after - before:+.2f}{relative} |")
    return lines


def _product_ids(conn: psycopg.Connection) -> list[int]:
    """Products that exist (the same ids in both copies): an UPDATE of none would announce nothing."""
    return [row[0] for row in conn.execute("SELECT id FROM products ORDER BY id LIMIT 200").fetchall()]


def _explain(conn: psycopg.Connection, statement: str) -> tuple[float, float]:
    row = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}").fetchone()
    assert row is not None
    [plan] = row[0]
    triggers = sum(t["Time"] for t in plan.get("Triggers", []) if t["Trigger Name"].startswith("announce_"))
    return plan["Execution Time"], triggers


def statement_table(urls: dict[str, URL], repeats: int, cycles: int) -> list[str]:
    timings: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for revision, url in urls.items():
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in (*SINGLE_ROW, *BULK)}
        with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
            ids = _product_ids(conn)
            for n in range(repeats):
                for name, template in SINGLE_ROW.items():
                    runs[name].append(_explain(conn, template.format(n=ids[n % len(ids)], org=1 + n % 2)))
            for _ in range(cycles):
                row = conn.execute("SELECT max(id) FROM audit_log").fetchone()
                mark = row[0] if row else 0
                for name, template in BULK.items():
                    runs[name].append(_explain(conn, template.format(mark=mark)))
        timings[revision] = runs
    lines = [
        "| statement | runs | execution ms at 0007 | execution ms with the triggers | of which announce_* ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in (*SINGLE_ROW, *BULK):
        before, after = timings[WITHOUT][name], timings[WITH][name]
        lines.append(
            f"| {name} | {len(after)} | {statistics.median(t for t, _ in before):.3f}"
            f" | {statistics.median(t for t, _ in after):.3f} | {statistics.median(t for _, t in after):.3f} |"
        )
    return lines


class _Counter:
    def __init__(self) -> None:
        self.heard = 0

    def changed(self, change: Change) -> None:
        self.heard += 1

    def resynced(self) -> None:
        pass


async def commit_table(urls: dict[str, URL], repeats: int) -> list[str]:
    listener = ChangeListener(libpq_conninfo(urls[WITH]))
    counter = _Counter()
    listener.add_sink(counter)
    await listener.start()
    connections = {
        revision: await psycopg.AsyncConnection.connect(libpq_conninfo(url), autocommit=True, prepare_threshold=0)
        for revision, url in urls.items()
    }
    lines = [
        "| autocommit statement | runs each | median ms at 0007 | median ms with triggers | p90 at 0007 | p90 with |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    with psycopg.connect(libpq_conninfo(urls[WITH])) as conn:
        ids = _product_ids(conn)
    try:
        for name, statement in COMMITTED.items():
            times: dict[str, list[float]] = {revision: [] for revision in connections}
            for n in range(repeats):
                for revision, conn in connections.items():
                    start = time.perf_counter()
                    await conn.execute(statement, (ids[n % len(ids)],))
                    times[revision].append((time.perf_counter() - start) * 1000)
            before, after = times[WITHOUT], times[WITH]
            lines.append(
                f"| {name} | {repeats} | {statistics.median(before):.3f} | {statistics.median(after):.3f}"
                f" | {statistics.quantiles(before, n=10)[-1]:.3f} | {statistics.quantiles(after, n=10)[-1]:.3f} |"
            )
        await asyncio.sleep(0.5)  # the last notifications are on their way
        lines.append(f"\nThe listener heard {counter.heard} changes ({len(COMMITTED) * repeats} statements committed).")
    finally:
        for conn in connections.values():
            await conn.close()
        await listener.stop()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.change_feed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default=os.environ.get("TEST_DATABASE_URL", ""), help="a superuser's URL")
    parser.add_argument("--scale", default="medium", choices=("tiny", "small", "medium", "large"))
    parser.add_argument("--seed-runs", type=int, default=3)
    parser.add_argument("--statements", type=int, default=500, help="EXPLAIN ANALYZE runs per single-row statement")
    parser.add_argument("--commits", type=int, default=3000, help="autocommit statements per kind and copy")
    args = parser.parse_args(argv)
    if not args.admin_url:
        parser.error("--admin-url (or TEST_DATABASE_URL) is required")
    admin = parse_database_url(args.admin_url, "--admin-url")
    command = (
        f"python -m bench.change_feed --admin-url <a superuser URL> --scale {args.scale}"
        f" --seed-runs {args.seed_runs} --statements {args.statements} --commits {args.commits}"
    )
    with psycopg.connect(libpq_conninfo(admin)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        server_version = row[0] if row else "unknown"
    with open("/proc/loadavg") as f:
        load_before = " ".join(f.read().split()[:3])
    with databases(admin) as urls:
        seeds = seed_table(urls, admin, args.scale, args.seed_runs)
        statements = statement_table(urls, args.statements, cycles=5)
        commits = asyncio.run(commit_table(urls, args.commits))
    with open("/proc/loadavg") as f:
        load_after = " ".join(f.read().split()[:3])
    print("# The change feed's triggers: what they cost\n")
    print(f"- machine: {describe()}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    print(f"- PostgreSQL {server_version}, code: commit {commit.stdout.strip() or 'unknown'}")
    print(f"- command: `{command}`")
    print(f"- load average before / after: {load_before} / {load_after}\n")
    for table in (seeds, statements, commits):
        print("\n".join(table) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
