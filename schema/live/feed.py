"""What the edge (WebSocket, multipart, SSE) asks of the live engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from app.auth.principal import Principal
from schema.prepared import PreparedOperation


class LiveFeed(Protocol):
    """One subscription's messages. Each is the UTF-8 JSON of an execution result,
    ``{"data": …}`` or ``{"data": …, "errors": […]}``, byte for byte what the same query
    answers over HTTP (less ``extensions``). Iteration ends when the subscription ends;
    it raises a ``BizgraphError`` (e.g. ``StreamOverflow``) when it is ended by the server."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def take_ready(self) -> list[bytes]:
        """The messages that iteration would give now without waiting, taken in order (none:
        ``[]``). The feed's end or failure is left for iteration to report. An edge that just
        received a message sends these with it: a burst is one write, not one per message."""
        ...

    def listen(self, ready: Callable[[], None] | None) -> bool:
        """From now on ``ready`` is called (by the engine, synchronously, with nothing awaited)
        whenever ``take_ready`` may have something new or the feed may have ended; None stops
        it. An edge that listens moves messages without a task waking per message. False: the
        feed is read by iteration only (and ``ready`` is never called)."""
        ...

    @property
    def finished(self) -> bool:
        """Nothing more will come after what ``take_ready`` gives: iteration would then end, or
        raise what ended the feed."""
        ...

    async def aclose(self) -> None:
        """The client stopped listening (complete, disconnect): frees everything it held."""
        ...


class LiveService(Protocol):
    async def subscribe(self, principal: Principal, prepared: PreparedOperation, request_id: str) -> LiveFeed:
        """Starts a subscription operation (``prepared.kind`` is SUBSCRIPTION, already admitted
        by the edge: authenticated, validated, priced). Raises a ``BizgraphError`` when it
        cannot start (its message and code go to the client as the operation's error)."""
        ...


class SignalledFeed(AsyncIterator[bytes]):
    """What the engine's feeds (a live query's subscriber, an event stream) share: whether the
    feed ended, and how it says it has something — to an iterating reader (``_ready``, the event
    it waits on) and to a listening edge (its callback, called at once). Subclasses hold the
    messages and iterate them (``__anext__``)."""

    def __init__(self) -> None:
        self.ended = False
        self._ready = asyncio.Event()
        self._listener: Callable[[], None] | None = None

    def end(self) -> None:
        self.ended = True
        self._notify()

    def listen(self, ready: Callable[[], None] | None) -> bool:
        self._listener = ready
        return True

    def _notify(self) -> None:
        self._ready.set()
        if self._listener is not None:
            self._listener()

    @property
    def finished(self) -> bool:
        return self.ended
