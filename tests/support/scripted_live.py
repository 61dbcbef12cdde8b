"""A stand-in for the live engine, for tests only: a ``LiveService`` whose feeds say exactly
what the test tells them to. Used where the real engine cannot produce the situation on demand
(a feed the server ends with ``StreamOverflow``, a flood for a client that never reads, a feed
that fails with a bug); every other subscription test runs against the real engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from app.auth.principal import Principal
from schema.prepared import PreparedOperation

END = object()


@dataclass
class ScriptedFeed:
    principal: Principal
    prepared: PreparedOperation
    request_id: str
    # Each item: the bytes of a message, an exception to raise, or END.
    script: asyncio.Queue[object] = field(default_factory=asyncio.Queue)
    # When set, the feed repeats this message forever (a flood).
    flood: bytes | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    sent: int = 0

    def push(self, item: object) -> None:
        self.script.put_nowait(item)

    async def _messages(self) -> AsyncIterator[bytes]:
        while True:
            if self.flood is not None:
                self.sent += 1
                yield self.flood
                await asyncio.sleep(0)
                continue
            item = await self.script.get()
            if item is END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            self.sent += 1
            yield item

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._messages()

    def take_ready(self) -> list[bytes]:
        # Every scripted message goes through iteration (its order with errors and END kept).
        return []

    def listen(self, ready: object) -> bool:
        return False  # read by iteration only

    @property
    def finished(self) -> bool:
        return False

    async def aclose(self) -> None:
        self.closed.set()


class ScriptedLiveService:
    def __init__(self, *, flood: bytes | None = None, refuse: BaseException | None = None) -> None:
        self.flood = flood
        self.refuse = refuse
        self.feeds: list[ScriptedFeed] = []
        self.subscribed = asyncio.Event()

    async def subscribe(self, principal: Principal, prepared: PreparedOperation, request_id: str) -> ScriptedFeed:
        if self.refuse is not None:
            raise self.refuse
        feed = ScriptedFeed(principal, prepared, request_id, flood=self.flood)
        self.feeds.append(feed)
        self.subscribed.set()
        return feed

    async def next_feed(self, count: int = 1, within: float = 5) -> ScriptedFeed:
        """Waits until ``count`` feeds were made; the last of them."""
        async with asyncio.timeout(within):
            while len(self.feeds) < count:
                self.subscribed.clear()
                await self.subscribed.wait()
        return self.feeds[count - 1]
