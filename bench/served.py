"""A ``bizgraph serve`` process a benchmark starts and stops itself, on a free loopback port.

What it logs goes to a file, named when it fails to start: a pipe nobody reads would stop the
server once full.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

BIZGRAPH = str(Path(sys.executable).parent / "bizgraph")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """``bizgraph serve --workers N`` with ``env`` as its whole environment."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log = log
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [BIZGRAPH, "serve", "--port", str(self.port), "--workers", str(workers)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def wait_ready(self, within: float = 60, *, also: Callable[[], bool] | None = None) -> None:
        """Until ``/readyz`` answers 200 (and ``also`` holds, when given)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bizgraph serve exited: {self.log.read_text()[-2000:]}")
            try:
                ready = httpx.get(self.origin + "/readyz", timeout=1).status_code == 200
            except httpx.TransportError:
                ready = False
            if ready and (also is None or also()):
                return
            time.sleep(0.1)
        raise SystemExit("bizgraph serve did not get ready")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
