"""One measured cell: ``python -m bench.peers.cell TARGET WORKLOAD CONNS`` prints one TSV row.

TARGET bizgraph | postgraphile | floor, WORKLOAD q1..q4. ``--header`` prints the TSV header,
``--describe ROW`` a row in words.

1. One validated request (HTTP 200, ``"data"``, no ``"errors"``); its size is ``resp_bytes``, the body
   is kept in ``$PEERS_SCRATCH/first/``.
2. Drain: wait until the target + PostgreSQL are idle (< 0.05 core over 0.5 s; at most 60 s).
3. One continuous closed-loop wrk run (``-t1``, on ``$PEERS_LOAD_CPUS``) of WARMUP + DURATION (+1) s,
   CPU snapshots at t = WARMUP and t = WARMUP + DURATION; req/s = responses completed inside that
   window / DURATION (``post.lua`` timestamps them).

Environment: WARMUP (5), DURATION (15), ROLE (admin; bizgraph's token), TAG (free text; the matrix
writes round/try), ALLOW_ERRORS (measure even when the first response is bad).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

from bench.peers import cpusnap
from bench.peers.common import FIRST, HERE, TARGETS, WORKLOADS, authorization, body_file, post, url

COLUMNS = [
    "time", "tag", "target", "role", "workload", "conns", "rps", "p50_ms", "p99_ms", "mean_ms", "errors",
    "bad_bodies", "resp_bytes", "window_requests", "server_cores", "pg_cores", "loader_cores", "other_cores",
    "steal_cores", "idle_servers_cores", "cpu_ms_per_req", "drain_s",
]  # fmt: skip


def describe(row: str) -> str:
    c = dict(zip(COLUMNS, row.split("\t"), strict=True))
    return (
        f"{c['target']} {c['workload']} {c['conns']} conns ({c['role']}): {c['rps']} req/s, p50 {c['p50_ms']} ms, "
        f"p99 {c['p99_ms']} ms, {c['cpu_ms_per_req']} CPU ms/req (server {c['server_cores']} + PG {c['pg_cores']}"
        f" cores), other {c['other_cores']} + steal {c['steal_cores']} cores, {c['errors']} errors"
    )


def first_response(target: str, workload: str, role: str) -> bytes:
    status, body = post(target, workload, role)
    if status != 200 or b'"errors"' in body or b'"data"' not in body:
        print(f"bad first response {target} {workload} {role}: HTTP {status} {body[:300]!r}", file=sys.stderr)
        if not os.environ.get("ALLOW_ERRORS"):
            sys.exit(1)
    FIRST.mkdir(parents=True, exist_ok=True)
    (FIRST / f"{target}-{role}-{workload}.json").write_bytes(body)
    return body


def drain(target: str) -> float:
    """Seconds waited until the target and PostgreSQL are idle (the previous cell's requests are over)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        a = cpusnap.snap()
        time.sleep(0.5)
        d = cpusnap.diff(a, cpusnap.snap(), target)
        if d["server_cores"] + d["pg_cores"] < 0.05:
            break
    return time.monotonic() - t0


def measure(target: str, workload: str, conns: int, role: str) -> list[object]:
    warm, dur = float(os.environ.get("WARMUP", "5")), float(os.environ.get("DURATION", "15"))
    first = first_response(target, workload, role)
    drained = drain(target)
    env = dict(
        os.environ,
        BODY_FILE=str(body_file(target, workload)),
        AUTH=authorization(target, role),
        WINDOW_START=str(warm),
        WINDOW_LEN=str(dur),
    )
    wrk = ["wrk", "-t1", f"-c{conns}", f"-d{int(warm + dur + 1)}s", "--timeout", "30s", "-s", str(HERE / "post.lua")]
    cpus = os.environ.get("PEERS_LOAD_CPUS", "1")
    with subprocess.Popen(
        ["taskset", "-c", cpus, *wrk, url(target, workload)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as process:
        start = time.monotonic()
        time.sleep(max(0.0, start + warm - time.monotonic()))
        a = cpusnap.snap(process.pid)
        time.sleep(max(0.0, start + warm + dur - time.monotonic()))
        b = cpusnap.snap(process.pid)
        out, err = process.communicate(timeout=warm + dur + 60)
    if process.returncode != 0 or not out.strip():
        sys.exit(f"wrk failed ({process.returncode}): {err.decode()[-500:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    c = cpusnap.diff(a, b, target)
    n = result["window_requests"]
    errors = result["non2xx"] + result["sock_errors"] + result["timeouts"] + result["bad_bodies"]
    cpu_ms = (c["server_cores"] + c["pg_cores"]) * c["secs"] * 1000 / n if n else math.nan
    row: list[object] = [
        time.strftime("%H:%M:%S", time.gmtime()), os.environ.get("TAG", ""), target, role, workload, conns,
        f"{n / dur:.1f}", f"{result['p50_ms']:.2f}", f"{result['p99_ms']:.2f}", f"{result['mean_ms']:.2f}", errors,
        result["bad_bodies"], len(first), n,
    ]  # fmt: skip
    keys = ("server_cores", "pg_cores", "loader_cores", "other_cores", "steal_cores", "idle_servers_cores")
    row += [f"{c[k]:.2f}" for k in keys]
    row += [f"{cpu_ms:.2f}", f"{drained:.1f}"]
    return row


def main() -> None:
    args = sys.argv[1:]
    if args == ["--header"]:
        print("\t".join(COLUMNS))
        return
    if len(args) == 2 and args[0] == "--describe":
        print(describe(args[1]))
        return
    if len(args) != 3 or args[0] not in TARGETS or args[1].lower() not in WORKLOADS or not args[2].isdigit():
        sys.exit(f"usage: python -m bench.peers.cell {{{'|'.join(TARGETS)}}} {{{'|'.join(WORKLOADS)}}} CONNS")
    target, workload, conns = args[0], args[1].lower(), int(args[2])
    role = os.environ.get("ROLE", "admin")
    if target != "bizgraph" and role != "admin":
        sys.exit("cell: roles other than admin exist only for bizgraph")
    print("\t".join(map(str, measure(target, workload, conns, role))))


if __name__ == "__main__":
    main()
