"""CPU accounting for one run on a machine others may share, split by party.

``snap(loader_pid)``: the machine's busy and steal jiffies, and the jiffies of PostgreSQL (postmaster +
backends + reaped backends), of each server (pid files in ``$PEERS_SCRATCH``; its live worker processes
and reaped children included) and of the load generator. ``diff(a, b, target)``: cores used between two
snaps by the target server, PostgreSQL, the loader, everything else on the machine ("other": other
tenants, the kernel), steal, and the harness's idle servers.

    python -m bench.peers.cpusnap other SECONDS   # other + steal cores over SECONDS (the matrix's idle wait)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bench.peers.common import PIDFILES, SCRATCH, TARGETS

HZ = os.sysconf("SC_CLK_TCK")
Snap = dict[str, float]


def _stat(pid: int) -> tuple[int, int, int]:
    """ppid, own utime + stime, reaped children's cutime + cstime (exited backends, workers)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    rest = text[text.rindex(")") + 2 :].split()
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])


def _pid(path: Path, first_line: bool = False) -> int | None:
    try:
        text = path.read_text()
        return int(text.splitlines()[0] if first_line else text.strip())
    except (OSError, ValueError, IndexError):
        return None


def _processes() -> list[tuple[int, int, int, int]]:
    """(pid, ppid, own jiffies, reaped children's jiffies) of every process still there."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                out.append((int(entry), *_stat(int(entry))))
            except OSError:
                continue  # gone between listdir and read
    return out


def snap(loader_pid: int | None = None) -> Snap:
    now = time.monotonic()
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    out: Snap = {"t": now, "busy": user + nice + system + irq + softirq, "steal": steal, "pg": 0, "loader": 0}
    roots = {name: _pid(SCRATCH / PIDFILES[name]) for name in TARGETS}
    roots["pg"] = _pid(SCRATCH / "pgdata" / "postmaster.pid", first_line=True)
    roots["loader"] = loader_pid
    by_root = {pid: name for name, pid in roots.items() if pid}
    for name in TARGETS:
        out[name] = 0
    for pid, ppid, own, reaped in _processes():
        if pid in by_root:  # the process itself, and what its exited children used
            out[by_root[pid]] += own + reaped
        elif ppid in by_root:  # live children: PostgreSQL backends, bizgraph's workers
            out[by_root[ppid]] += own
    return out


def diff(a: Snap, b: Snap, target: str | None) -> dict[str, float]:
    secs = b["t"] - a["t"]
    d = {k: (b[k] - a[k]) / HZ for k in ("busy", "steal", "pg", "loader", *TARGETS)}
    ours = d["pg"] + d["loader"] + sum(d[s] for s in TARGETS)
    other = max(d["busy"] - ours, 0.0)
    return {
        "secs": secs,
        "server_cores": d[target] / secs if target else 0.0,
        "pg_cores": d["pg"] / secs,
        "loader_cores": d["loader"] / secs,
        "other_cores": other / secs,
        "steal_cores": d["steal"] / secs,
        "idle_servers_cores": sum(d[s] for s in TARGETS if s != target) / secs,
    }


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] != "other":
        sys.exit("usage: python -m bench.peers.cpusnap other SECONDS")
    a = snap()
    time.sleep(float(sys.argv[2]))
    d = diff(a, snap(), None)
    print(f"{d['other_cores'] + d['steal_cores']:.2f}")


if __name__ == "__main__":
    main()
