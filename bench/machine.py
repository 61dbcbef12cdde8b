"""What the numbers were measured on, and who kept the CPUs busy meanwhile.

Client, server and PostgreSQL share the machine (and, on a shared box, other
people's work does too), so each cell records CPU time per party: this
process, the server process, the PostgreSQL cluster, and the rest of the
machine ("other", which also holds kernel time such as loopback networking).
Processes are found through /proc; where that is not readable the parties
show as unknown and only the machine total remains.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def describe() -> str:
    cpus = os.cpu_count() or 0
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kb = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal:")), 0
    )
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    return (
        f"nproc {usable} ({cpus} online), {model}, {mem_kb / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def listening_pid(port: int) -> int | None:
    """The process listening on a local TCP port (e.g. the server, the postmaster), if visible."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in _read(table).splitlines()[1:]:
            parts = line.split()
            # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
            if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{parts[9]}]")
    if not inodes:
        return None
    for pid in _pids():
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
        except OSError:
            continue
    return None


def cpu_seconds(pids: Iterable[int]) -> float:
    """The CPU time (user + system, seconds) the processes ``pids`` have used so far; a process
    that ended (a backend whose connection closed) counts nothing."""
    ticks = 0
    for pid in pids:
        stat = _read(f"/proc/{pid}/stat")
        if stat:
            # The command name may hold spaces and parentheses: split after its last ')'.
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _process_ticks() -> dict[int, tuple[int, int]]:
    """pid → (parent pid, clock ticks) for every visible process.

    The ticks are the process's own user + system time plus that of its
    children it has reaped (cutime + cstime): when a short-lived child exits —
    a PostgreSQL backend of a connection opened and closed inside the window —
    its time moves into its parent's count instead of vanishing.
    """
    found = {}
    for pid in _pids():
        stat = _read(f"/proc/{pid}/stat")
        if not stat:
            continue
        # The command name may hold spaces and parentheses: split after its last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        found[pid] = (int(fields[1]), sum(int(v) for v in fields[11:15]))
    return found


def _machine_busy_seconds() -> float | None:
    # First line of /proc/stat: cumulative ticks per state over all CPUs;
    # everything but idle and iowait is work someone did.
    line = _read("/proc/stat").split("\n", 1)[0].split()
    if not line or line[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = ([int(v) for v in line[1:]] + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


@dataclass(frozen=True)
class Parties:
    """Root pids of the server and of PostgreSQL; their descendants count with them."""

    server: int | None = None
    postgres: int | None = None


NO_PARTIES = Parties()


@dataclass(frozen=True)
class CpuSample:
    wall: float
    process: float  # this process's CPU seconds
    machine_busy: float | None  # seconds over all CPUs; None without /proc/stat
    processes: dict[int, tuple[int, int]] = field(default_factory=dict)

    @classmethod
    def take(cls) -> CpuSample:
        return cls(time.perf_counter(), time.process_time(), _machine_busy_seconds(), _process_ticks())


@dataclass(frozen=True)
class CpuUse:
    """Cores used on average over a window, per party (nan when unknown)."""

    client: float
    machine: float = float("nan")
    server: float = float("nan")
    postgres: float = float("nan")

    @property
    def other(self) -> float:
        known = [v for v in (self.client, self.server, self.postgres) if v == v]
        # Per-process ticks and /proc/stat are sampled a few microseconds apart
        # and rounded differently: a small negative rest is noise, not work.
        return max(0.0, self.machine - sum(known))


def cpu_use(before: CpuSample, after: CpuSample, parties: Parties) -> CpuUse:
    wall = max(after.wall - before.wall, 1e-9)
    client = (after.process - before.process) / wall
    if before.machine_busy is None or after.machine_busy is None:
        return CpuUse(client)
    machine = (after.machine_busy - before.machine_busy) / wall

    def tree_cores(root: int | None) -> float:
        if root is None or root not in after.processes or root not in before.processes:
            return float("nan")

        # A tree's total (live members' own time plus what they reaped) only
        # grows: a member that exits hands its time to its parent in the tree.
        def total(sample: CpuSample) -> int:
            return sum(sample.processes[p][1] for p in _descendants(root, sample.processes))

        return (total(after) - total(before)) / CLOCK_TICKS / wall

    return CpuUse(client, machine, tree_cores(parties.server), tree_cores(parties.postgres))


def _descendants(root: int, processes: dict[int, tuple[int, int]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in processes.items():
        children.setdefault(ppid, []).append(pid)
    members, stack = set(), [root]
    while stack:
        pid = stack.pop()
        if pid not in members:
            members.add(pid)
            stack.extend(children.get(pid, []))
    return members
