"""Serving a running app on a real loopback port, for clients that are not Python (a browser,
node): uvicorn runs *on the test's event loop*, because the session-scoped ``app`` fixture entered
its lifespan on that loop and its database pool is bound to it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import uvicorn


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
