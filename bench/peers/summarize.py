"""Markdown tables from a matrix TSV (``matrix.sh`` writes it; ``run.sh summary TSV`` prints them again).

Per (workload, conns, target, role): in each round the try with the least other + steal load, then the
median over rounds of req/s, p50, p99, CPU ms/req (server + PostgreSQL) and its split. Ratios are
ratios of medians; > 1 means bizgraph serves more.

    python -m bench.peers.summarize matrix-YYYYmmddTHHMMSSZ.tsv > matrix-YYYYmmddTHHMMSSZ.md
"""

from __future__ import annotations

import csv
import statistics
import sys
from collections import defaultdict

TARGETS = ("bizgraph", "postgraphile", "floor")
Row = dict[str, str]
Cell = tuple[str, str, str, int]  # target, role, workload, conns


def med(rows: list[Row], column: str) -> float:
    return statistics.median(float(r[column]) for r in rows)


def noise(row: Row) -> float:
    return float(row["other_cores"]) + float(row["steal_cores"])


def quietest_per_round(rows: list[Row]) -> dict[Cell, list[Row]]:
    best: dict[tuple[str, str, str, int, str], Row] = {}
    for r in rows:
        k = (r["target"], r["role"], r["workload"], int(r["conns"]), r["tag"].split("/")[0])
        if k not in best or noise(r) < noise(best[k]):
            best[k] = r
    cells: dict[Cell, list[Row]] = defaultdict(list)
    for (target, role, workload, conns, _round), r in best.items():
        cells[(target, role, workload, conns)].append(r)
    return cells


def rate_cell(rows: list[Row], rate: float) -> str:
    return f"{rate:,.{1 if rate < 100 else 0}f} ({med(rows, 'p50_ms'):.1f} / {med(rows, 'p99_ms'):.1f})"


def cpu_cell(rows: list[Row], rate: float) -> str:
    server, pg = med(rows, "server_cores") * 1000 / rate, med(rows, "pg_cores") * 1000 / rate
    return f"{med(rows, 'cpu_ms_per_req'):.2f} ({server:.2f} + {pg:.2f})"


def main_table(cells: dict[Cell, list[Row]], window: float) -> None:
    conns = sorted({c for (_, _, _, c) in cells})
    workloads = sorted({w for (_, _, w, _) in cells})
    print(f"## Main table (median of the rounds; req/s from responses completed in the {window:.0f} s window)\n")
    print(
        "| workload | conns | bizgraph req/s (p50 / p99 ms) | PostGraphile req/s (p50 / p99 ms) "
        "| floor req/s (p50 / p99 ms) | bizgraph / PostGraphile | bizgraph / floor | CPU ms/req biz (srv+PG) "
        "| CPU ms/req PGL (srv+PG) | CPU ms/req floor (srv+PG) | other load cores, max (biz / PGL / floor) "
        "| errors | rounds |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in workloads:
        for c in conns:
            got = {t: rs for t in TARGETS if (rs := cells.get((t, "admin", w, c)))}
            if len(got) != len(TARGETS):
                continue
            rps = {t: med(rs, "rps") for t, rs in got.items()}
            rates = " | ".join(rate_cell(got[t], rps[t]) for t in TARGETS)
            ratios = f"{rps['bizgraph'] / rps['postgraphile']:.2f} | {rps['bizgraph'] / rps['floor']:.2f}"
            cpus = " | ".join(cpu_cell(got[t], rps[t]) for t in TARGETS)
            other = " / ".join(f"{max(noise(r) for r in got[t]):.2f}" for t in TARGETS)
            errors = sum(int(r["errors"]) for rs in got.values() for r in rs)
            rounds = min(len(v) for v in got.values())
            print(f"| {w.upper()} | {c} | {rates} | {ratios} | {cpus} | {other} | {errors} | {rounds} |")


def spread_table(cells: dict[Cell, list[Row]]) -> None:
    print("\n## Per target and cell: median and spread over rounds\n")
    print(
        "| workload | conns | target | role | req/s median | req/s min-max | p50 ms | p99 ms | server cores | PG cores "
        "| loader cores | other load cores (median / max) | CPU ms/req | resp bytes | errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (t, role, w, c), rs in sorted(cells.items(), key=lambda kv: (kv[0][2], kv[0][3], kv[0][1], kv[0][0])):
        rates = [float(r["rps"]) for r in rs]
        others = [noise(r) for r in rs]
        spread = f"{statistics.median(rates):,.1f} | {min(rates):,.1f}-{max(rates):,.1f}"
        latency = f"{med(rs, 'p50_ms'):.1f} | {med(rs, 'p99_ms'):.1f}"
        cores = " | ".join(f"{med(rs, k):.2f}" for k in ("server_cores", "pg_cores", "loader_cores"))
        print(
            f"| {w.upper()} | {c} | {t} | {role} | {spread} | {latency} | {cores} | "
            f"{statistics.median(others):.2f} / {max(others):.2f} | {med(rs, 'cpu_ms_per_req'):.2f} | "
            f"{rs[0]['resp_bytes']} | {sum(int(r['errors']) for r in rs)} |"
        )


def role_tables(cells: dict[Cell, list[Row]]) -> None:
    roles = sorted({role for (t, role, _, _) in cells if t == "bizgraph" and role != "admin"})
    for c in sorted({c for (_, _, _, c) in cells}):
        role_workloads = sorted({w for (t, role, w, cc) in cells if t == "bizgraph" and role != "admin" and cc == c})
        if not role_workloads:
            continue
        print(f"\n## bizgraph by role, {c} connections (median of rounds)\n")
        print("| workload | role | req/s | p50 / p99 ms | CPU ms/req (srv + PG) | resp bytes | vs admin req/s |")
        print("|---|---|---|---|---|---|---|")
        for w in role_workloads:
            base = cells.get(("bizgraph", "admin", w, c))
            for role in ["admin", *roles]:
                rs = cells.get(("bizgraph", role, w, c))
                if not rs:
                    continue
                rate = med(rs, "rps")
                versus = f"{rate / med(base, 'rps'):.2f}" if base else "-"
                server, pg = med(rs, "server_cores") * 1000 / rate, med(rs, "pg_cores") * 1000 / rate
                print(
                    f"| {w.upper()} | {role} | {rate:.1f} | {med(rs, 'p50_ms'):.1f} / {med(rs, 'p99_ms'):.1f} | "
                    f"{med(rs, 'cpu_ms_per_req'):.2f} ({server:.2f} + {pg:.2f}) | {rs[0]['resp_bytes']} | {versus} |"
                )


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.peers.summarize MATRIX.tsv")
    with open(sys.argv[1]) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        sys.exit(f"{sys.argv[1]}: no rows")
    cells = quietest_per_round(rows)
    # the window (DURATION) is not a column: window_requests / rps gives it back
    counted = [r for rs in cells.values() for r in rs if float(r["rps"]) > 0]
    window = statistics.median(int(r["window_requests"]) / float(r["rps"]) for r in counted) if counted else 0.0
    main_table(cells, window)
    spread_table(cells)
    role_tables(cells)


if __name__ == "__main__":
    main()
