"""The printed result: a header saying what was measured where, then Markdown tables."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

from bench.explain import Timing
from bench.load import Measurement
from bench.statements import StatementCount
from bench.workloads import Workload


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class WorkloadResult:
    workload: Workload
    skipped: str | None = None  # why bizgraph was not measured
    response_bytes: int = 0
    answer_errors: str = ""  # errors next to the data in the preflight answer (e.g. FORBIDDEN fields)
    same_data: str = "not checked"
    statements: StatementCount | None = None
    server_sql: Timing | None = None
    floor_sql: Timing | None = None
    # concurrency → measurement
    bizgraph: dict[int, Measurement] = field(default_factory=dict)
    floor: dict[int, Measurement] = field(default_factory=dict)


def rps(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def ms(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def share(value: float) -> str:
    return "–" if math.isnan(value) else f"{100 * value:.1f}"


def size(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:,.0f}"


def cores(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def cpu_per_request(m: Measurement) -> str:
    # CPU time per request of the parties doing the work (client, server,
    # PostgreSQL), whatever the concurrency; other people's load is left out
    # when it can be told apart.
    if m.cpu is None or not m.rps:
        return "–"
    work = m.cpu.machine - m.cpu.other if m.cpu.other == m.cpu.other else m.cpu.machine
    return ms(work * 1000 / m.rps)


def cpu_split(m: Measurement | None, with_server: bool) -> str:
    if m is None or m.cpu is None:
        return "–"
    parts = [m.cpu.client, *([m.cpu.server] if with_server else []), m.cpu.postgres, m.cpu.other]
    return " / ".join(cores(v) for v in parts)


def ratio(a: Measurement | None, b: Measurement | None) -> str:
    if a is None or b is None or not b.rps:
        return "–"
    r = a.rps / b.rps
    return f"{r:.2f}" if r >= 0.1 else f"{r:.3f}"


def count_text(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def _row(cells: list[str]) -> str:
    # A pipe inside a cell (e.g. in an error message) would split it.
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _cell(measure: Measurement | None, fmt) -> str:
    return "–" if measure is None else fmt(measure)


def main_table(results: list[WorkloadResult], concurrencies: list[int]) -> list[str]:
    header = [
        "workload",
        "conns",
        "bizgraph req/s",
        "p50 ms",
        "p99 ms",
        "bizgraph errors %",
        "bizgraph bytes/resp",
        "floor req/s",
        "floor p50 ms",
        "floor p99 ms",
        "bizgraph / floor",
        "SQL stmts/req",
        "round trips/req",
        "bizgraph cell, CPU cores: client / server / PG / other",
        "floor cell, CPU cores: client / PG / other",
        "CPU ms/req bizgraph / floor",
        "errors",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    for result in results:
        key = result.workload.key
        if result.skipped:
            lines.append(_row([key, "–", f"skipped: {result.skipped}"] + [""] * (len(header) - 3)))
            continue
        stmts = result.statements
        for c in concurrencies:
            b, f = result.bizgraph.get(c), result.floor.get(c)
            errors = sum(m.errors for m in (b, f) if m is not None)
            capped = " (capped)" if any(m is not None and m.capped for m in (b, f)) else ""
            lines.append(
                _row(
                    [
                        key,
                        str(c),
                        _cell(b, lambda m: rps(m.rps)),
                        _cell(b, lambda m: ms(m.percentile(50))),
                        _cell(b, lambda m: ms(m.percentile(99))),
                        _cell(b, lambda m: share(m.error_share)),
                        _cell(b, lambda m: size(m.mean_bytes)),
                        _cell(f, lambda m: rps(m.rps)),
                        _cell(f, lambda m: ms(m.percentile(50))),
                        _cell(f, lambda m: ms(m.percentile(99))),
                        ratio(b, f),
                        count_text(stmts.statements) if stmts and not stmts.error else "–",
                        count_text(stmts.round_trips) if stmts and not stmts.error else "–",
                        cpu_split(b, with_server=True),
                        cpu_split(f, with_server=False),
                        f"{_cell(b, cpu_per_request)} / {_cell(f, cpu_per_request)}",
                        f"{errors}{capped}",
                    ]
                )
            )
    return lines


def detail_table(results: list[WorkloadResult]) -> list[str]:
    header = [
        "workload",
        "what",
        "response bytes",
        "floor returns the same data",
        "PostgreSQL exec ms: bizgraph SQL / floor SQL",
        "planning ms: bizgraph / floor",
        "errors in the answer",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    for result in results:
        if result.skipped:
            continue
        s, f = result.server_sql, result.floor_sql
        lines.append(
            _row(
                [
                    result.workload.key,
                    result.workload.title,
                    f"{result.response_bytes:,}",
                    result.same_data,
                    f"{ms(s.execution_ms) if s else '–'} / {ms(f.execution_ms) if f else '–'}",
                    f"{ms(s.planning_ms) if s else '–'} / {ms(f.planning_ms) if f else '–'}",
                    result.answer_errors or "none",
                ]
            )
        )
    return lines


def wire_notes(results: list[WorkloadResult]) -> list[str]:
    lines = []
    for result in results:
        stmts = result.statements
        if result.skipped or stmts is None:
            continue
        if stmts.error:
            lines.append(f"- {result.workload.key}: statement count failed: {stmts.error}")
            continue
        if stmts.wire:
            trips = "; ".join(shorten(t) for t in stmts.wire)
            lines.append(f"- {result.workload.key}: {trips}")
    return lines


def shorten(text: str, width: int = 70) -> str:
    """One line of at most ``width`` characters, safe inside a Markdown code span."""
    text = " ".join(text.split()).replace("`", "'")
    return text if len(text) <= width else text[: width - 1] + "…"


CLIENT_BOUND = 0.9  # cores: the client is single-threaded, so near 1.0 it is the limit


def bottleneck_notes(results: list[WorkloadResult]) -> list[str]:
    """Cells whose req/s the client, not the system under test, may have limited."""
    lines = []
    for result in results:
        for side, cells in (("bizgraph", result.bizgraph), ("floor", result.floor)):
            for c, m in cells.items():
                if m.cpu is not None and m.cpu.client >= CLIENT_BOUND:
                    lines.append(
                        f"- {result.workload.key} × {c} {side}: the client used {m.cpu.client:.2f} cores, so it was the"
                        f" bottleneck; {rps(m.rps)} req/s is a lower bound"
                    )
    return lines


BUSY_OTHER = 0.2  # cores of other work that make a cell suspect


def interference_notes(results: list[WorkloadResult]) -> list[str]:
    """Cells during which something besides client, server and PostgreSQL used the CPUs."""
    lines = []
    for result in results:
        for side, cells in (("bizgraph", result.bizgraph), ("floor", result.floor)):
            for c, m in cells.items():
                if m.cpu is not None and m.cpu.other >= BUSY_OTHER:
                    lines.append(f"- {result.workload.key} × {c} {side}: other work used {m.cpu.other:.2f} cores")
    return lines
