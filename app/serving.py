"""``bizgraph serve`` under uvicorn: one process, or several worker processes on one port.

One process (``--workers 1``) is uvicorn's own server, draining live connections first when it
stops. Several are a small supervisor of bizgraph's own rather than uvicorn's ``--workers``:
uvicorn's workers are plain ``uvicorn.Server``s, which close every WebSocket with 1012 before
the application hears of the shutdown, and its supervisor offers no way to run another server
class in them. Here the supervisor binds the port once, starts N spawned processes that each
build the application (their own pool, their own change listener, their own live queries) and
serve that one socket, and when it is told to stop it tells each of them, and waits for each to
drain: sockets close with 1001 after their queued frames, streams end, requests finish.

A drain (README "Draining"), in every process that serves: ``/readyz`` answers 503 from its first
moment; for ``BIZGRAPH_DRAIN_NOTICE_SECONDS`` everything else is still served (a load balancer
polling ``/readyz`` takes the process out of rotation meanwhile); then the port stops accepting,
so new connections are refused; in-flight requests and mutations, and the queries and mutations
sockets are running, get up to ``BIZGRAPH_DRAIN_SECONDS`` to finish; sockets close with 1001 once
theirs have answered; then the pool and the change listener close (the lifespan's end) and the
process exits 0. What is still running at the deadline is cut off, and the process exits all the
same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from app.config import Settings
from app.http.lean_protocol import LeanHttpProtocol
from app.logs import configure_logging

log = logging.getLogger("bizgraph.serving")

# uvicorn's exit status for a server that never started (a lifespan that failed).
STARTUP_FAILURE = 3
# prometheus_client reads this at import: set, its series live in files shared by the workers.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def default_workers() -> int:
    """One worker per core this process may run on (what ``taskset`` or a container allows)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Listen:
    """Where and how uvicorn serves (what ``uvicorn.Config`` needs besides the app)."""

    host: str
    port: int
    log_level: str
    # The drain's two phases (the module's doc), from the settings.
    drain_notice_seconds: int = 0
    drain_seconds: int = 20

    def config(self, app: Any) -> uvicorn.Config:
        return uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_level=self.log_level,
            # uvicorn's loggers go through bizgraph's handler (JSON or text, app/logs.py); its
            # access lines would repeat /graphql's own request lines (app/http/request_log.py).
            log_config=None,
            access_log=False,
            lifespan="on",
            # uvicorn's httptools protocol, answering the common request without an ASGI cycle.
            http=LeanHttpProtocol,
            # graphql-transport-ws pings and reaps silent sockets itself (app/http/live): a
            # second, WebSocket-level ping per socket would only double the work.
            ws_ping_interval=None,
            ws_ping_timeout=None,
            # Set again when the drain starts to what is left of its deadline (DrainingServer).
            timeout_graceful_shutdown=self.drain_seconds,
        )


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining as the module's doc says: not ready at once, refusing new
    connections after the notice, live connections drained (1001 after their in-flight
    operations) before uvicorn's own shutdown waits out the requests and would cut what is left
    of the sockets (1012)."""

    def __init__(self, config: uvicorn.Config, app: Any, listen: Listen) -> None:
        super().__init__(config)
        self._app = app
        self._listen = listen
        # Set by a signal heard once the drain has begun: stop waiting (the notice, the sockets).
        self._hurry: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        state = self._app.state
        state.ready = False
        self._hurry = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        log.info("draining: /readyz answers 503")
        await self._unless_hurried(self._listen.drain_notice_seconds, asyncio.sleep(self._listen.drain_notice_seconds))
        began = time.monotonic()
        # New connections are refused from here (uvicorn's shutdown would close these next).
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        deadline = self._listen.drain_seconds
        if not await self._unless_hurried(deadline, state.live_edge.drain(deadline)):
            # Told again: the sockets close now (1001), their operations cancelled.
            await state.live_edge.drain(0)
        # Whatever the sockets took is gone from what the requests have left.
        self.config.timeout_graceful_shutdown = max(0.0, deadline - (time.monotonic() - began))  # type: ignore[assignment]
        await super().shutdown(sockets)
        if self.force_exit:
            # Cut short (a second signal): uvicorn skips the application's end, but the pool
            # and the change listener still close rather than be dropped with the process.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self.lifespan.shutdown()
        # Drained as asked: exit 0, rather than uvicorn ending the process by the signal it caught.
        self._captured_signals = [sig for sig in self._captured_signals if sig != signal.SIGTERM]

    async def _unless_hurried(self, within: float, work: Coroutine[Any, Any, Any]) -> bool:
        """``work``, unless another signal comes first (then it is cancelled): True when it ended."""
        assert self._hurry is not None
        task = asyncio.ensure_future(work)
        hurried = asyncio.ensure_future(self._hurry.wait())
        await asyncio.wait([task, hurried], timeout=within + 60, return_when=asyncio.FIRST_COMPLETED)
        hurried.cancel()
        if task.done():
            return True
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._hurry is not None and self._loop is not None:
            # A second signal while draining, whichever: stop waiting for anything.
            self.force_exit = True
            # A signal handler runs between the loop's steps: the loop is woken to see it.
            self._loop.call_soon_threadsafe(self._hurry.set)


def serve_one(app: Any, listen: Listen) -> None:
    """The application in this process, served until a signal stops it."""
    DrainingServer(listen.config(app), app, listen).run()


def serve_workers(settings: Settings, listen: Listen, build: Callable[[Settings], Any], workers: int) -> int:
    """``workers`` processes serving one port; returns the exit status (0, or 3 when a worker
    could not start: the next one would fail the same way)."""
    # The port is bound here, once: the workers share its socket, and the kernel hands each
    # new connection to one of the processes waiting on it.
    sock = listen.config(None).bind_socket()
    supervisor = _Supervisor(settings, listen, build, workers, sock)
    metrics_dir = shared_metrics_directory(settings)
    try:
        return supervisor.run()
    finally:
        sock.close()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def shared_metrics_directory(settings: Settings) -> str | None:
    """Makes the workers' metrics one set (prometheus_client's multiprocess mode): each worker
    writes its series to files in ``PROMETHEUS_MULTIPROC_DIR`` and whichever answers a scrape sums
    them. An operator's directory is emptied of an earlier run's files; without one, and with
    /metrics on, a directory of this run's own is made (returned, to be removed at the end).
    Spawned workers inherit the environment, so they start in that mode."""
    configured = os.environ.get(MULTIPROC_DIR)
    if configured:
        for stale in Path(configured).glob("*.db"):
            stale.unlink(missing_ok=True)
        return None
    if settings.metrics_token is None:
        return None
    made = tempfile.mkdtemp(prefix="bizgraph-metrics-")
    os.environ[MULTIPROC_DIR] = made
    return made


class _Supervisor:
    def __init__(
        self, settings: Settings, listen: Listen, build: Callable[[Settings], Any], count: int, sock: socket.socket
    ) -> None:
        self._args = (settings, listen, build, sock)
        self._sock = sock
        self._count = count
        self._processes: list[SpawnProcess] = []
        self._signals: list[int] = []
        self._wake = threading.Event()
        # The workers already told to drain (by process id).
        self._told: set[int | None] = set()

    def run(self) -> int:
        # Sockets travel to spawned processes only once this is on (uvicorn does the same).
        multiprocessing.allow_connection_pickling()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._signalled)
        status = 0
        self._processes = [self._start() for _ in range(self._count)]
        log.info("serving with %d workers: %s", self._count, ", ".join(str(p.pid) for p in self._processes))
        while True:
            wait([p.sentinel for p in self._processes], timeout=0.5)
            if self._signals:
                # A worker that ended since is draining, not dead: none is started in its place.
                break
            if self._replace_dead():
                status = STARTUP_FAILURE
                break
        self._stop_all()
        return status

    def _signalled(self, sig: int, frame: Any) -> None:
        self._signals.append(sig)
        if len(self._signals) == 1:
            # Told at once, not at the loop's next turn: every worker's /readyz turns 503 now.
            self._tell_all()
        else:
            # A second Ctrl-C (or TERM) while draining: each worker stops without waiting further.
            for process in self._processes:
                _send(process, signal.SIGINT)

    def _start(self) -> SpawnProcess:
        process = multiprocessing.get_context("spawn").Process(
            target=_worker, args=self._args, name="bizgraph worker", daemon=False
        )
        process.start()
        return process

    def _replace_dead(self) -> bool:
        """Starts a new worker for each one that ended by itself; True when one could not start."""
        for index, process in enumerate(self._processes):
            if process.exitcode is None:
                continue
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker %s could not start; stopping the others", process.pid)
                return True
            log.warning("worker %s ended (exit status %s); starting another", process.pid, process.exitcode)
            _forget_metrics_of(process)
            self._processes[index] = self._start()
        return False

    def _tell_all(self) -> None:
        """Every worker drains at the same time; each ends once its own connections are done.
        Told once: a second SIGTERM would cut a worker's notice short."""
        for process in self._processes:
            if process.pid not in self._told:
                self._told.add(process.pid)
                _send(process, signal.SIGTERM)

    def _stop_all(self) -> None:
        self._tell_all()
        # The port closes once the workers stop accepting (after their notice): the kernel then
        # refuses new connections, where this copy would have queued them for no one.
        self._sock.close()
        for process in self._processes:
            process.join()
            _forget_metrics_of(process)


def _forget_metrics_of(process: SpawnProcess) -> None:
    """A worker that ended no longer counts in the gauges summed over live workers (pool, live data)."""
    if os.environ.get(MULTIPROC_DIR) and process.pid is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(process.pid)  # type: ignore[no-untyped-call]


def _send(process: SpawnProcess, sig: int) -> None:
    if process.exitcode is None and process.pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)


def _worker(settings: Settings, listen: Listen, build: Callable[[Settings], Any], sock: socket.socket) -> None:
    """One worker process: the application built here (its own pool and listener), serving the
    supervisor's socket."""
    # A group of its own: a Ctrl-C in the terminal reaches the supervisor only, which tells
    # each worker once; otherwise a worker would hear it twice (and stop without draining).
    os.setpgrp()
    _end_with_parent()
    configure_logging(settings.log_level, settings.log_format)
    config = listen.config(None)
    config.configure_logging()
    app = build(settings)
    config.app = app
    server = DrainingServer(config, app, listen)
    # The supervisor's SIGINT means "stop now": uvicorn hears it while serving (and cuts the
    # drain short); once it has stopped, one arriving late must not end the exit in a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def _end_with_parent() -> None:
    """A worker whose supervisor was killed (so could not tell it) stops by itself, draining."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="bizgraph supervisor watch", daemon=True).start()
