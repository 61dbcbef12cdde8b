"""Measuring the cells (workload × concurrency × side) on a machine others may be using."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from bench import floor, load, machine, report
from bench.report import WorkloadResult, progress

QUIET = 0.15  # cores busy machine-wide that still count as an idle machine


async def wait_quiet(limit: float) -> float:
    """Wait (up to ``limit`` s) for a second in which the machine is idle; the busy cores last seen."""
    deadline = time.monotonic() + limit
    while True:
        before = machine.CpuSample.take()
        await asyncio.sleep(1.0)
        busy = machine.cpu_use(before, machine.CpuSample.take(), machine.Parties()).machine
        if not busy > QUIET or time.monotonic() >= deadline:
            return busy


async def measure_cell(
    args: argparse.Namespace, label: str, once: Callable[[], Awaitable[load.Measurement]]
) -> load.Measurement:
    """One cell, re-measured when other work on the machine disturbed it; the least disturbed run is kept."""
    best: load.Measurement | None = None
    for attempt in range(1 + args.retries):
        if args.quiet_wait > 0:
            busy = await wait_quiet(args.quiet_wait)
            if busy > QUIET:
                progress(
                    f"{label}: machine still busy ({busy:.2f} cores) after {args.quiet_wait:g} s; measuring anyway"
                )
        m = await once()
        other = m.cpu.other if m.cpu is not None else 0.0
        if best is None or best.cpu is None or other < best.cpu.other:
            best = m
        progress(f"{label}: {m.rps:,.1f} req/s (other work {other:.2f} cores)")
        if not other >= report.BUSY_OTHER:
            break
        if attempt < args.retries:
            progress(f"{label}: disturbed by other work, measuring again")
    assert best is not None
    return best


async def measure(args: argparse.Namespace, dsn: str, results: list[WorkloadResult], parties: machine.Parties) -> None:
    for result in results:
        if result.skipped:
            continue
        w = result.workload
        for c in args.concurrencies:
            result.bizgraph[c] = await measure_cell(
                args,
                f"{w.key} × {c} bizgraph",
                lambda w=w, c=c: load.measure_http(
                    args.url,
                    w.query,
                    w.variables,
                    c,
                    args.warmup,
                    args.duration,
                    args.max_requests,
                    args.timeout,
                    args.token,
                    parties,
                ),
            )
            if not args.no_floor:
                result.floor[c] = await measure_cell(
                    args,
                    f"{w.key} × {c} floor",
                    lambda w=w, c=c: floor.measure_floor(
                        dsn, w.floor_sql, w.floor_params, c, args.warmup, args.duration, args.max_requests, parties
                    ),
                )
