"""The Markdown tables of ``python -m bench.mutations``: per cell the medians over the
runs, where connections waited, each run on its own, and the statements of one request."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bench import mutation_count, report
from bench.load import Measurement
from bench.mutation_setup import WaitProfile

TITLES = {
    "place": "placeOrder (5 lines)",
    "pay-spread": "recordPayment (spread over invoices)",
    "pay-hot": "recordPayment (one hot invoice, contended)",
}


@dataclass
class CellRun:
    measurement: Measurement
    waits: WaitProfile
    successes: int  # successful requests, warm-up included (what the database must hold)
    verification: str
    note: str = ""


@dataclass
class CellResult:
    key: str
    concurrency: int
    runs: list[CellRun] = field(default_factory=list)


def median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def _cpu(runs: list[CellRun], part: str) -> float:
    return median([getattr(r.measurement.cpu, part) for r in runs if r.measurement.cpu is not None])


def _row(cells_: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells_) + " |"


def results_table(results: list[CellResult], counts: dict[str, mutation_count.MutationCount]) -> list[str]:
    header = [
        "mutation",
        "conns",
        "req/s",
        "req/s per run",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors %",
        "CPU cores: client / server / PG / other",
        "CPU ms/req",
        "SQL stmts/req",
        "round trips/req",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    for r in results:
        ms_ = [x.measurement for x in r.runs]
        count = counts.get("place" if r.key == "place" else "pay")
        ok_count = count is not None and not count.error
        lines.append(
            _row(
                [
                    TITLES[r.key],
                    str(r.concurrency),
                    report.rps(median([m.rps for m in ms_])),
                    " / ".join(report.rps(m.rps) for m in ms_),
                    report.ms(median([m.percentile(50) for m in ms_])),
                    report.ms(median([m.percentile(95) for m in ms_])),
                    report.ms(median([m.percentile(99) for m in ms_])),
                    report.share(median([m.error_share for m in ms_])),
                    " / ".join(report.cores(_cpu(r.runs, p)) for p in ("client", "server", "postgres", "other")),
                    report.ms(median([_cpu_ms(m) for m in ms_])),
                    report.count_text(count.statements) if ok_count else "–",
                    report.count_text(count.round_trips) if ok_count else "–",
                ]
            )
        )
    return lines


def _cpu_ms(m: Measurement) -> float:
    if m.cpu is None or not m.rps:
        return float("nan")
    work = m.cpu.machine - m.cpu.other if m.cpu.other == m.cpu.other else m.cpu.machine
    return work * 1000 / m.rps


def waits_table(results: list[CellResult]) -> list[str]:
    header = [
        "mutation",
        "conns",
        "server connections open (max)",
        "in a transaction",
        "on CPU / commit lock (advisory) / row lock / WAL / other wait",
        "idle in transaction",
        "commit-lock wait ms/req",
        "row-lock wait ms/req",
        "WAL wait ms/req",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    for r in results:
        runs = [x for x in r.runs if x.waits.samples]
        if not runs:
            continue

        def mean(kind: str, runs: list[CellRun] = runs) -> float:
            return median([x.waits.mean(kind) for x in runs])

        def per_request(kind: str, runs: list[CellRun] = runs) -> str:
            # Little's law: backends waiting on average ÷ requests per second = wait per request.
            return report.ms(median([x.waits.mean(kind) / x.measurement.rps * 1000 for x in runs if x.measurement.rps]))

        busy = " / ".join(f"{mean(k):.2f}" for k in ("cpu", "advisory", "row_lock", "wal"))
        other = mean("other_lock") + mean("other_wait") + mean("client")
        lines.append(
            _row(
                [
                    TITLES[r.key],
                    str(r.concurrency),
                    str(max(x.waits.max_connections for x in runs)),
                    f"{median([x.waits.in_transaction for x in runs]):.2f}",
                    f"{busy} / {other:.2f}",
                    f"{mean('idle_in_tx'):.2f}",
                    per_request("advisory"),
                    per_request("row_lock"),
                    per_request("wal"),
                ]
            )
        )
    return lines


def per_run_table(results: list[CellResult]) -> list[str]:
    header = [
        "mutation",
        "conns",
        "run",
        "req/s",
        "requests",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "CPU cores: client / server / PG / other",
        "note",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    for r in results:
        for i, x in enumerate(r.runs, 1):
            m = x.measurement
            lines.append(
                _row(
                    [
                        TITLES[r.key],
                        str(r.concurrency),
                        str(i),
                        report.rps(m.rps),
                        f"{m.requests:,}",
                        report.ms(m.percentile(50)),
                        report.ms(m.percentile(95)),
                        report.ms(m.percentile(99)),
                        str(m.errors),
                        report.cpu_split(m, with_server=True),
                        x.note or "",
                    ]
                )
            )
    return lines


def statement_notes(counts: dict[str, mutation_count.MutationCount]) -> list[str]:
    lines = []
    names = {"create": "createOrder (5 lines)", "place": "placeOrder (5 lines)", "pay": "recordPayment"}
    for key, count in counts.items():
        if count.error:
            lines.append(f"- {names[key]}: the count failed: {count.error}")
            continue
        trips = f", {report.count_text(count.round_trips)} round trips" if count.round_trips is not None else ""
        lines.append(f"- **{names[key]}**: {report.count_text(count.statements)} statements{trips} per request:")
        for i, sql in enumerate(count.sql, 1):
            lines.append(f"  {i}. `{report.shorten(sql, 110)}`")
        if count.wire:
            lines.append(f"  - on the wire: {'; '.join(report.shorten(w, 60) for w in count.wire)}")
    return lines
