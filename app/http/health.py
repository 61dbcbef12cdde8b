"""``/livez`` and ``/readyz``: may the process be kept, may it be sent traffic.

Readiness asks PostgreSQL (one ``SELECT 1`` on a pooled connection) at most once
a second, whatever the probe rate: every probe within that second shares the last
answer, and concurrent probes share one check.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.db import Database
from app.errors import DatabaseUnavailable, ShuttingDown
from app.http.errors import unavailable_response
from app.http.request_id import request_id_of
from app.live.listener import ChangeListener

log = logging.getLogger("bizgraph.health")


class DatabaseReadiness:
    def __init__(
        self,
        database: Database,
        *,
        ttl_seconds: float = 1.0,
        timeout_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.ttl_seconds = ttl_seconds
        # A database that hangs (a dropped network, a full pool) must not hang the probe.
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self._reachable = False
        self._checked_at: float | None = None
        self._lock = asyncio.Lock()

    async def reachable(self) -> bool:
        if self._fresh():
            return self._reachable
        async with self._lock:
            if not self._fresh():  # another probe may have checked while this one waited
                self._reachable = await self._ping()
                self._checked_at = self.clock()
        return self._reachable

    def _fresh(self) -> bool:
        return self._checked_at is not None and self.clock() - self._checked_at < self.ttl_seconds

    async def _ping(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await self.database.ping()
        except Exception as error:  # whatever stops a SELECT 1 stops the requests too
            log.warning("readiness: the database did not answer: %r", error)
            return False
        return True


async def livez(request: Request) -> Response:
    return JSONResponse({"live": True})


async def readyz(request: Request) -> Response:
    state = request.app.state
    # False before start-up completes and from the moment shutdown begins (draining).
    if not getattr(state, "ready", False):
        return unavailable_response(ShuttingDown(), request_id_of(request.scope))
    readiness: DatabaseReadiness = state.readiness
    if not await readiness.reachable():
        return unavailable_response(DatabaseUnavailable(), request_id_of(request.scope))
    # Reported, not required: while the change feed reconnects, queries and mutations
    # still answer correctly (live results catch up once it is back), so the process
    # stays in rotation.
    changes: ChangeListener = state.changes
    return JSONResponse({"ready": True, "listening": changes.listening})


def health_routes() -> list[Route]:
    return [Route("/livez", livez), Route("/readyz", readyz)]
