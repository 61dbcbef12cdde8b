"""Serving on a real loopback port.

``serve``: a running app, for clients that are not Python (a browser, node): uvicorn runs *on the
test's event loop*, because the session-scoped ``app`` fixture entered its lifespan on that loop
and its database pool is bound to it. ``serve_process``: ``bizgraph serve`` itself, a process of
its own, as an operator runs it (several on one database, through a PostgreSQL restart)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy.engine import URL

from app.http.lean_protocol import LeanHttpProtocol


class _InLoopServer(uvicorn.Server):
    # uvicorn would install SIGINT/SIGTERM handlers on the main thread; leave them to pytest.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve(app, *, tls: tuple[Path, Path] | None = None) -> AsyncIterator[str]:
    """Serve an ASGI app whose lifespan is already running on a free loopback port; yield its origin.
    With ``tls`` (certificate and key files), over https."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound before uvicorn starts: no race for the port
    port = sock.getsockname()[1]
    # lifespan="off": the fixture has already started the app.
    certificate, key = tls or (None, None)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        # As ``bizgraph serve`` serves (app/serving.py).
        http=LeanHttpProtocol,
        timeout_graceful_shutdown=5,
        ssl_certfile=certificate,
        ssl_keyfile=key,
    )
    server = _InLoopServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the server
                raise RuntimeError("uvicorn exited before it started")
            await asyncio.sleep(0.02)
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


BIZGRAPH = str(Path(sys.executable).parent / "bizgraph")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ServeProcess:
    """A ``bizgraph serve`` started as the README says, on a free port of its own."""

    process: asyncio.subprocess.Process
    origin: str

    async def stopped(self, within: float = 15) -> str:
        """Stops it (SIGTERM, as a supervisor would); its standard error."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            _, err = await asyncio.wait_for(self.process.communicate(), within)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        return err.decode()


def serve_environment(database_url: URL, signing_key: Path, **extra: str) -> dict[str, str]:
    """What ``bizgraph serve`` reads: the database, the keys, quiet logs; ``extra`` on top."""
    return {
        **os.environ,
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "BIZGRAPH_SIGNING_KEYS": str(signing_key),
        "BIZGRAPH_LOG_LEVEL": "WARNING",
        **extra,
    }


@contextlib.asynccontextmanager
async def serve_process(
    env: dict[str, str], *, ready_within: float = 20, workers: int = 1
) -> AsyncIterator[ServeProcess]:
    """``bizgraph serve --workers N`` in a process of its own, yielded once ``/readyz`` answers
    200 (from any of its workers); killed afterwards unless the test stopped it."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        BIZGRAPH,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    served = ServeProcess(process, f"http://127.0.0.1:{port}")
    try:
        async with httpx.AsyncClient(base_url=served.origin) as http, asyncio.timeout(ready_within):
            while True:
                if process.returncode is not None:
                    _, err = await process.communicate()
                    raise RuntimeError(f"bizgraph serve exited with {process.returncode}: {err.decode()}")
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        yield served
    finally:
        if process.returncode is None:
            # The workers too (a group of their own each), then the supervisor.
            for pid in worker_pids(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            await process.wait()


def worker_pids(supervisor: int) -> list[int]:
    """The worker processes of a ``bizgraph serve --workers N`` (its spawned children, not
    multiprocessing's resource tracker)."""
    try:
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    except OSError:
        return []
    workers = []
    for child in children:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(int(child))
    return workers
