"""``LiveEdge``: the live transports of one process, built from the settings: the WebSocket
endpoint, the HTTP streams, the caps they share, and the registry of what is open, so that
shutdown can close every socket with 1001 (after its queued frames) and end every stream."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from starlette.types import Scope
from starlette.websockets import WebSocket

from app.config import Settings
from app.http.live import close_codes
from app.http.live.clock import SocketClock
from app.http.live.http_streams import HttpStreams
from app.http.live.limits import LiveLimits
from app.http.live.operations import SocketOperations
from app.http.live.origins import OriginPolicy
from app.http.live.turns import TurnBudget
from app.http.live.websocket import LiveSocket, SocketTimings
from app.http.observer import RequestObserver
from app.http.pipeline import OperationPipeline


class Open(Protocol):
    async def going_away(self, finish_within: float = 0) -> None: ...


class LiveEdge:
    def __init__(
        self, settings: Settings, pipeline: OperationPipeline, observer: RequestObserver | None = None
    ) -> None:
        self.settings = settings
        self.limits = LiveLimits(
            max_connections=settings.max_live_connections,
            per_connection=settings.max_subscriptions_per_connection,
            per_principal=settings.max_subscriptions_per_principal,
        )
        self.origins = OriginPolicy(settings.allowed_origins)
        self.operations = SocketOperations(pipeline, self.limits, observer)
        self.timings = SocketTimings(
            init_timeout=settings.ws_init_timeout_ms / 1000,
            ping_interval=settings.ws_ping_interval_ms / 1000,
            silence_timeout=settings.ws_silence_timeout_ms / 1000,
        )
        self.open: set[Open] = set()
        # Every socket and stream of the process frames its messages within one budget per
        # turn of the event loop, so that a burst leaves room for the HTTP requests.
        self.turns = TurnBudget()
        # Every socket's pings and deadlines on one timer.
        self.clock = SocketClock()
        self.draining = False
        self.streams = HttpStreams(
            self.limits,
            heartbeat_seconds=settings.stream_heartbeat_ms / 1000,
            register=self.open.add,
            unregister=self.open.discard,
            accepting=lambda: not self.draining,
            turns=self.turns,
        )

    async def websocket(self, websocket: WebSocket) -> None:
        """The endpoint of ``/graphql``'s WebSocket upgrades."""
        if self.draining:
            await websocket.accept(subprotocol=_offered(websocket.scope))
            await websocket.close(close_codes.GOING_AWAY.code, close_codes.GOING_AWAY.reason)
            return
        socket = LiveSocket(
            websocket,
            operations=self.operations,
            limits=self.limits,
            origins=self.origins,
            timings=self.timings,
            send_queue_frames=self.settings.ws_send_queue_frames,
            turns=self.turns,
            clock=self.clock,
        )
        try:
            await socket.serve(on_open=self.open.add)
        finally:
            self.open.discard(socket)

    async def drain(self, deadline_seconds: float = 10) -> None:
        """Refuses new sockets and streams; gives the open sockets' queries and mutations up to
        ``deadline_seconds`` to answer, then closes them (1001, after their queued frames) and
        ends the streams; returns when all have."""
        self.draining = True
        closing = [entry.going_away(deadline_seconds) for entry in list(self.open)]
        # The sockets bound their own wait; this bounds a close whose peer never reads.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(deadline_seconds + self.timings.close_grace + 1):
                await asyncio.gather(*closing, return_exceptions=True)


def _offered(scope: Scope) -> str | None:
    offered = scope.get("subprotocols") or ()
    return "graphql-transport-ws" if "graphql-transport-ws" in offered else None
