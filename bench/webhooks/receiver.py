"""The bench's receiver: answers 200 at once and notes when each message arrived."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


class Arrivals:
    """webhook-id → wall-clock arrival time of its first copy; ``copies`` counts every request."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.copies = 0
        self.changed = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        now = time.time()
        headers = dict(scope["headers"])
        self.first.setdefault(headers[b"webhook-id"].decode(), now)
        self.copies += 1
        self.changed.set()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def wait_for(self, count: int, seconds: float) -> None:
        async with asyncio.timeout(seconds):
            while len(self.first) < count:
                self.changed.clear()
                await self.changed.wait()


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # leave Ctrl-C to the bench
        pass


@asynccontextmanager
async def receiving(arrivals: Arrivals) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(arrivals, lifespan="off", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("the receiver stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/hooks"
    finally:
        server.should_exit = True
        await task
        sock.close()
