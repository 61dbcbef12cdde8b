"""One socket's send path: frames are written in order by one task, at most ``capacity`` of them
waiting. A subscription whose client reads slowly waits here for room (and its feed, not this
queue, decides what to keep meanwhile); every other socket has a path of its own, so one slow
reader delays no one else.

The writer takes every frame waiting at once and hands them to the socket's wire together
(``wire.py``: with uvicorn, one transport write for them all), so a burst of messages to one
socket costs one write, not one per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket

from app.http.live.close_codes import Close, bounded_reason
from app.http.live.turns import TurnBudget
from app.http.live.wire import Wire, wire_for

log = logging.getLogger("bizgraph.live")


class SocketSender:
    def __init__(
        self, websocket: WebSocket, capacity: int, *, turns: TurnBudget | None = None, wire: Wire | None = None
    ) -> None:
        self.websocket = websocket
        self.wire = wire or wire_for(websocket)
        # Shared by every socket of the process: messages framed per turn of the loop.
        self._turns = turns
        self._queue: asyncio.Queue[bytes | Close] = asyncio.Queue(capacity)
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        # Set when the writer stops: the close frame went out, or the socket broke.
        self.stopped = asyncio.Event()

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name="bizgraph-live-writer")

    async def send(self, frame: bytes) -> None:
        """Queues a frame, waiting while the queue is full; dropped once the socket is closing."""
        if self._closing or self.stopped.is_set():
            return
        if self._turns is not None:
            await self._turns.take()
        await self._queue.put(frame)

    def offer(self, frame: bytes) -> None:
        """Queues a control frame (ping, pong) unless the queue is full: a client that reads
        nothing needs neither, and the reader must never wait for room."""
        if not self._closing and not self.stopped.is_set():
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(frame)

    async def close(self, close: Close, *, grace_seconds: float) -> None:
        """Closes the socket after the frames already queued, waiting at most ``grace_seconds``
        for a slow reader to take them; then closes it without them."""
        if self._closing:
            await self.stopped.wait()
            return
        self._closing = True
        try:
            async with asyncio.timeout(grace_seconds):
                await self._queue.put(close)
                await self.stopped.wait()
        except TimeoutError:
            await self._stop()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await self.websocket.close(close.code, bounded_reason(close.reason))
        self.stopped.set()

    async def aclose(self) -> None:
        """Stops the writer (the socket is gone or closed)."""
        await self._stop()
        self.stopped.set()

    async def _stop(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _write(self) -> None:
        queue = self._queue
        try:
            while True:
                frames: list[bytes] = []
                close: Close | None = None
                item = await queue.get()
                while True:
                    if isinstance(item, Close):
                        close = item  # the last thing this socket sends
                        break
                    frames.append(item)
                    if queue.empty():
                        break
                    item = queue.get_nowait()
                if frames:
                    await self.wire.write(frames)
                if close is not None:
                    await self.websocket.close(close.code, bounded_reason(close.reason))
                    return
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the peer went away mid-write: nothing more can be sent
            log.debug("socket write failed: %s", error)
        finally:
            self.stopped.set()
