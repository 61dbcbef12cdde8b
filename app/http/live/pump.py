"""``FeedPump``: moves one socket subscription's messages from its feed to its socket's sender
without a task of its own per message.

The feed calls the pump when it has something (``LiveFeed.listen``); the pump asks the process's
turn budget for a turn (or the loop, without one) and, in that turn, takes everything the feed
has ready, frames it and pushes it to the sender, which writes at once when the socket can take
it. A socket without room is left alone until its sender makes room; meanwhile the feed keeps
what it keeps (a live query its newest answer, an event stream its bounded queue). The
subscription's task only waits for the feed to finish.
"""

from __future__ import annotations

import asyncio

from app.http.live.frames import NEXT_SUFFIX
from app.http.live.sender import SocketSender
from schema.live.feed import LiveFeed


class FeedPump:
    def __init__(self, feed: LiveFeed, sender: SocketSender, prefix: bytes) -> None:
        self._feed = feed
        self._sender = sender
        self._prefix = prefix
        self._due = False  # a move is queued for a coming turn
        self._finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def run(self) -> bool:
        """Moves messages until the feed finished and all it had was pushed (True), or returns
        False at once when the feed can only be iterated (the caller then iterates it)."""
        if not self._feed.listen(self._ready):
            return False
        try:
            self._ready()  # what the feed had before it was listened to
            await self._finished
        finally:
            self._feed.listen(None)
            if not self._finished.done():
                self._finished.cancel()
        return True

    def _ready(self) -> None:
        if self._due or self._finished.done():
            return
        self._due = True
        turns = self._sender.turns
        if turns is not None:
            turns.later(self._move)
        else:
            asyncio.get_running_loop().call_soon(self._move)

    def _move(self) -> int:
        self._due = False
        if self._finished.done():
            return 0
        sender = self._sender
        if not sender.has_room and sender.open:
            sender.when_room(self._ready)
            return 0
        messages = self._feed.take_ready()
        if messages:
            prefix = self._prefix
            sender.push([prefix + message + NEXT_SUFFIX for message in messages])
        if self._feed.finished:
            self._finished.set_result(None)
        return len(messages)
