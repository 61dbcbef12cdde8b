"""One socket's send path: frames go out in the order they were given, at most ``capacity`` of
them waiting. A subscription whose client reads slowly waits here for room (and its feed, not
this queue, decides what to keep meanwhile); every other socket has a path of its own, so one
slow reader delays no one else.

Two ways in:

- ``send`` (awaited) and ``offer`` (control frames) queue for the socket's writer task, which
  takes every frame waiting at once and hands them to the wire together (``wire.py``: with
  uvicorn, one transport write for them all).
- ``push`` is for subscriptions' feeds (``pump.py``): when nothing is queued or being written
  and the socket can take bytes now, the frames are written at once, in the caller's turn of
  the loop, with no task woken; otherwise they queue behind the rest. At 10,000 subscribers a
  change's fan-out then costs a write per socket, not two task switches per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence

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
        self.capacity = capacity
        # Shared by every socket of the process: messages framed per turn of the loop.
        self.turns = turns
        self._frames: deque[bytes | Close] = deque()
        # The writer waits on it when nothing is queued; ``send`` waits on room.
        self._queued = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        # Called once when room is made again (feeds waiting to push).
        self._on_room: list[Callable[[], None]] = []
        self._writing = False
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        # Set when the writer stops: the close frame went out, or the socket broke.
        self.stopped = asyncio.Event()

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name="bizgraph-live-writer")

    @property
    def open(self) -> bool:
        """Frames given now may still go out."""
        return not self._closing and not self.stopped.is_set()

    @property
    def has_room(self) -> bool:
        return len(self._frames) < self.capacity

    async def send(self, frame: bytes) -> None:
        """Queues a frame, waiting while the queue is full; dropped once the socket is closing."""
        if not self.open:
            return
        if self.turns is not None:
            await self.turns.take()
        while not self.has_room and not self.stopped.is_set():
            self._room.clear()
            await self._room.wait()
        if self.open:
            self._queue([frame])

    def offer(self, frame: bytes) -> None:
        """Queues a control frame (ping, pong) unless the queue is full: a client that reads
        nothing needs neither, and the reader must never wait for room."""
        if self.open and self.has_room:
            self._queue([frame])

    def push(self, frames: Sequence[bytes]) -> None:
        """A feed's frames, written now when nothing waits before them and the socket takes
        bytes now, else queued (the caller checked ``has_room``; a burst may pass ``capacity``
        once). Dropped once the socket is closing."""
        if not self.open:
            return
        if not self._frames and not self._writing:
            try:
                if self.wire.write_now(frames):
                    return
            except Exception as error:  # the peer went away: nothing more can be sent
                self._broken(error)
                return
        self._queue(frames)

    def when_room(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` once the queue has room again (at once if it has)."""
        if self.has_room:
            callback()
        else:
            self._on_room.append(callback)

    async def close(self, close: Close, *, grace_seconds: float) -> None:
        """Closes the socket after the frames already queued, waiting at most ``grace_seconds``
        for a slow reader to take them; then closes it without them."""
        if self._closing:
            await self.stopped.wait()
            return
        self._closing = True
        try:
            async with asyncio.timeout(grace_seconds):
                while not self.has_room and not self.stopped.is_set():
                    self._room.clear()
                    await self._room.wait()
                self._queue([close])
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

    def _queue(self, frames: Sequence[bytes | Close]) -> None:
        self._frames.extend(frames)
        self._queued.set()

    def _broken(self, error: BaseException) -> None:
        log.debug("socket write failed: %s", error)
        self._frames.clear()
        self.stopped.set()
        self._made_room()
        if self._writer is not None:
            self._writer.cancel()

    def _made_room(self) -> None:
        self._room.set()
        waiting, self._on_room = self._on_room, []
        for callback in waiting:
            callback()

    async def _stop(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _write(self) -> None:
        frames = self._frames
        try:
            while True:
                if not frames:
                    self._queued.clear()
                    await self._queued.wait()
                    continue
                batch: list[bytes] = []
                close: Close | None = None
                while frames:
                    item = frames.popleft()
                    if isinstance(item, Close):
                        close = item  # the last thing this socket sends
                        break
                    batch.append(item)
                if batch:
                    self._writing = True
                    try:
                        await self.wire.write(batch)
                    finally:
                        self._writing = False
                if close is not None:
                    await self.websocket.close(close.code, bounded_reason(close.reason))
                    return
                if self.has_room:
                    self._made_room()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the peer went away mid-write: nothing more can be sent
            log.debug("socket write failed: %s", error)
        finally:
            self.stopped.set()
            # Whoever waits for room learns the socket is done (``open`` is now False).
            self._made_room()
