"""Helpers for tests of the change feed: a sink that records, and a marker that tells
where the notifications caused by a test's writes end."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from app.live.changes import CHANNEL, Change
from tests.support.db import conninfo

# No organization has a negative id: a marker is never mistaken for a real change.
_markers = itertools.count(-1, -1)
MARKER_TABLE = "marker"
# Long enough for a reconnection through the whole backoff on a busy machine.
WAIT_SECONDS = 10.0


class RecordingSink:
    """Remembers every change it hears and counts resyncs."""

    def __init__(self) -> None:
        self.heard: asyncio.Queue[Change] = asyncio.Queue()
        self.resyncs = 0
        self._resynced = asyncio.Event()

    def changed(self, change: Change) -> None:
        self.heard.put_nowait(change)

    def resynced(self) -> None:
        self.resyncs += 1
        self._resynced.set()

    async def wait_for_resync(self) -> None:
        async with asyncio.timeout(WAIT_SECONDS):
            await self._resynced.wait()

    async def changes_until_marker(self, url: URL) -> list[Change]:
        """Every change heard until a marker committed now arrives: notifications are
        delivered in commit order, so these are all the changes committed before it."""
        marker = next(_markers)
        await notify(url, f'{{"org":{marker},"tables":["{MARKER_TABLE}"]}}')
        heard: list[Change] = []
        async with asyncio.timeout(WAIT_SECONDS):
            while (change := await self.heard.get()) != Change(marker, frozenset({MARKER_TABLE})):
                heard.append(change)
        return heard


async def notify(url: URL, payload: str) -> None:
    """Send ``payload`` on the change channel in a transaction of its own."""
    async with await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True) as conn:
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


async def execute(url: URL, *statements: str | tuple[str, tuple[Any, ...]]) -> None:
    """Run ``statements`` in one committed transaction, as the database owner."""
    async with await psycopg.AsyncConnection.connect(conninfo(url)) as conn:
        for statement in statements:
            query, params = statement if isinstance(statement, tuple) else (statement, None)
            await conn.execute(query, params)
