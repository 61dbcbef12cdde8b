"""Paths, ports and URLs shared by the harness's Python modules; ``run.sh`` sets the environment."""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRATCH = Path(os.environ.get("PEERS_SCRATCH", "/tmp/bizgraph-peers"))
BODIES = SCRATCH / "bodies"
TOKENS = SCRATCH / "tokens"
FIRST = SCRATCH / "first"
TARGETS = ("bizgraph", "postgraphile", "floor")
WORKLOADS = ("q1", "q2", "q3", "q4")
PORTS = {
    "bizgraph": int(os.environ.get("PEERS_BIZ_PORT", "8120")),
    "postgraphile": int(os.environ.get("PEERS_PGL_PORT", "5678")),
    "floor": int(os.environ.get("PEERS_FLOOR_PORT", "5680")),
}
# pid files written by servers.sh (cpusnap attributes CPU time by them)
PIDFILES = {"bizgraph": "biz.pid", "postgraphile": "pgl.pid", "floor": "floor.pid"}


def url(target: str, workload: str) -> str:
    if target == "floor":
        return f"http://127.0.0.1:{PORTS['floor']}/floor/{workload}"
    return f"http://127.0.0.1:{PORTS[target]}/graphql"


def body_file(target: str, workload: str) -> Path:
    return BODIES / f"{target}-{workload}.json"


def authorization(target: str, role: str = "admin") -> str:
    """The Authorization header's value: bizgraph wants a bearer token; the peer and the floor take none."""
    if target != "bizgraph":
        return ""
    return "Bearer " + (TOKENS / f"{role}.jwt").read_text().strip()


def post(target: str, workload: str, role: str = "admin", timeout: float = 60) -> tuple[int, bytes]:
    """One request with the target's body for the workload: (HTTP status, body)."""
    import urllib.error
    import urllib.request

    headers = {"content-type": "application/json"}
    if auth := authorization(target, role):
        headers["authorization"] = auth
    request = urllib.request.Request(
        url(target, workload), data=body_file(target, workload).read_bytes(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:  # a non-2xx answer is an answer: the caller reports it
        return error.code, error.read()
