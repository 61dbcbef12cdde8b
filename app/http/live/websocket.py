"""graphql-transport-ws on ``/graphql``: one ``LiveSocket`` per connection, from the upgrade to
the close.

At the upgrade, before anything runs: a disallowed ``Origin`` is refused (HTTP 403), another
subprotocol is closed with 4406, a full process with 1013. Then the client has
``BIZGRAPH_WS_INIT_TIMEOUT_MS`` to send ``connection_init`` with its token (4408 else; 4401 for
no or a bad token; 4429 for a second init; 4401 for a ``subscribe`` before the ack). Once
acknowledged, the server pings every ``BIZGRAPH_WS_PING_INTERVAL_MS``, reaps a socket silent for
``BIZGRAPH_WS_SILENCE_TIMEOUT_MS`` (4504) and closes it when its token expires (4403).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket

from app.auth.principal import Principal
from app.auth.verify import Authenticator
from app.errors import Unauthenticated
from app.http.live import close_codes, frames
from app.http.live.clock import SocketClock
from app.http.live.close_codes import Close
from app.http.live.frames import ProtocolViolation
from app.http.live.limits import LiveLimits
from app.http.live.operations import SocketOperations, SocketSession
from app.http.live.origins import OriginPolicy
from app.http.live.sender import SocketSender
from app.http.live.socket_auth import authenticate_socket
from app.http.live.turns import TurnBudget
from app.http.request_id import request_id_of

log = logging.getLogger("bizgraph.live")

SUBPROTOCOL = "graphql-transport-ws"


@dataclass(frozen=True)
class SocketTimings:
    init_timeout: float
    ping_interval: float
    silence_timeout: float
    # How long a closing socket's queued frames may take to reach a slow reader.
    close_grace: float = 5.0


class LiveSocket:
    def __init__(
        self,
        websocket: WebSocket,
        *,
        operations: SocketOperations,
        limits: LiveLimits,
        origins: OriginPolicy,
        timings: SocketTimings,
        send_queue_frames: int,
        turns: TurnBudget | None = None,
        clock: SocketClock | None = None,
    ) -> None:
        self.websocket = websocket
        self.operations = operations
        self.limits = limits
        self.origins = origins
        self.timings = timings
        self.sender = SocketSender(websocket, send_queue_frames, turns=turns)
        self.request_id = request_id_of(websocket.scope)
        self._numbers = itertools.count(1)
        self._session: SocketSession | None = None
        self._init_received = False
        self._running: dict[str, asyncio.Task[None]] = {}
        self._loop = asyncio.get_running_loop()
        self._opened = self._heard_at = self._loop.time()
        self._expires_at: float | None = None  # the token's expiry, on the loop's clock
        self._next_ping: float | None = None  # once acknowledged
        # Init timeout, pings, silence, token expiry: the process's sockets share one timer.
        self.clock = clock if clock is not None else SocketClock()
        self._user_checks: set[asyncio.Task[bool]] = set()
        self._closing = False
        # The server is going away: subscribe messages start nothing more.
        self._draining = False
        self._finished = asyncio.Event()
        self._closer: asyncio.Task[None] | None = None

    async def serve(self, *, on_open: Callable[[LiveSocket], None] | None = None) -> None:
        """Serves the socket until it closes; ``on_open`` and its counterpart are the edge's
        registry hooks (called once the socket is accepted and counted)."""
        websocket = self.websocket
        origin = websocket.headers.get("origin")
        if not self.origins.allows(origin, websocket.headers.get("host")):
            # Before the accept: the server answers the upgrade 403 and nothing runs.
            log.info("socket refused: origin %r not allowed (request %s)", origin, self.request_id)
            await websocket.close()
            return
        if SUBPROTOCOL not in websocket.scope.get("subprotocols", ()):
            await websocket.accept()
            refusal = close_codes.SUBPROTOCOL_NOT_ACCEPTABLE
            await websocket.close(refusal.code, refusal.reason)
            return
        if not self.limits.open_connection():
            await websocket.accept(subprotocol=SUBPROTOCOL)
            await websocket.close(close_codes.TRY_AGAIN_LATER.code, close_codes.TRY_AGAIN_LATER.reason)
            return
        try:
            await websocket.accept(subprotocol=SUBPROTOCOL)
            self.sender.start()
            reader = asyncio.create_task(self._read(), name="bizgraph-live-reader")
            self.clock.at(self._next_deadline(), self)
            if on_open is not None:
                on_open(self)
            await self._finished.wait()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        finally:
            self.clock.forget(self)
            for check in list(self._user_checks):
                check.cancel()
            await self._cancel_operations()
            await self.sender.aclose()
            self.limits.close_connection()

    async def going_away(self, finish_within: float = 0) -> None:
        """The server stops: nothing new starts, subscriptions end, the queries and mutations
        already running get up to ``finish_within`` seconds to answer, and the socket closes
        with 1001 once its queued frames are sent (what still runs then is cancelled)."""
        if not self._closing:
            self._draining = True
            session = self._session
            if session is not None:
                # Set first: an operation still being admitted will not start a subscription.
                session.draining = True
                for operation_id in list(session.subscriptions):
                    task = self._running.get(operation_id)
                    if task is not None:
                        task.cancel()
            answering = list(self._running.values())
            if answering and finish_within > 0:
                await asyncio.wait(answering, timeout=finish_within)
        await self.close(close_codes.GOING_AWAY)

    async def close(self, close: Close) -> None:
        if self._closing:
            await self._finished.wait()
            return
        self._closing = True
        await self._cancel_operations()
        await self.sender.close(close, grace_seconds=self.timings.close_grace)
        self._finished.set()

    async def _read(self) -> None:
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                self._heard_at = self._loop.time()
                text = message.get("text")
                raw = text if text is not None else message.get("bytes") or b""
                try:
                    await self._handle(frames.parse_message(raw))
                except ProtocolViolation as violation:
                    await self.close(violation.close)
                    return
        finally:
            if not self._closing:
                # The client went away: nothing is left to send it.
                self._closing = True
                await self._cancel_operations()
                self._finished.set()

    async def _handle(self, message: frames.ClientMessage) -> None:
        if isinstance(message, frames.ConnectionInit):
            await self._connection_init(message.payload)
        elif isinstance(message, frames.Ping):
            self.sender.offer(frames.PONG)
        elif isinstance(message, frames.Pong):
            pass  # heard: that is all a pong says
        elif isinstance(message, frames.Subscribe):
            self._subscribe(message)
        elif isinstance(message, frames.Complete):
            # Unknown or finished ids are ignored, as the protocol allows.
            task = self._running.pop(message.id, None)
            if task is not None:
                task.cancel()

    async def _connection_init(self, payload: Mapping[str, Any]) -> None:
        if self._init_received:
            raise ProtocolViolation(close_codes.TOO_MANY_INITS)
        self._init_received = True
        try:
            principal, valid_until = await authenticate_socket(
                self._authenticator, payload, self.websocket.headers.get("authorization")
            )
        except Unauthenticated as refusal:
            reason = close_codes.bounded_reason(f"Unauthorized: {refusal.description}")
            raise ProtocolViolation(Close(close_codes.UNAUTHORIZED, reason)) from None
        self._session = SocketSession(self.websocket, principal, self.sender)
        now = self._loop.time()
        self._expires_at = now + (valid_until - time.time())
        self._next_ping = now + self.timings.ping_interval
        await self.sender.send(frames.ACK)
        if not self._closing:
            self.clock.at(self._next_deadline(), self)

    def _subscribe(self, message: frames.Subscribe) -> None:
        session = self._session
        if session is None:
            raise ProtocolViolation(Close(close_codes.UNAUTHORIZED, "Unauthorized"))
        if self._closing or self._draining:
            return  # the socket is closing: nothing new starts
        if message.id in self._running:
            reason = close_codes.bounded_reason(f"Subscriber for {message.id} already exists")
            raise ProtocolViolation(Close(close_codes.SUBSCRIBER_EXISTS, reason))
        request_id = f"{self.request_id[:48]}-{next(self._numbers)}"
        task = asyncio.create_task(self._operate(session, message, request_id), name="bizgraph-live-operation")
        self._running[message.id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._running.get(message.id) is done:
                del self._running[message.id]

        task.add_done_callback(forget)

    async def _operate(self, session: SocketSession, message: frames.Subscribe, request_id: str) -> None:
        try:
            await self.operations.run(session, message.id, message.payload, request_id)
        except ProtocolViolation as violation:
            self._close_soon(violation.close)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug: logged with its request id; the client learns only that it happened.
            log.exception("unexpected error in socket operation (request %s)", request_id)
            self._close_soon(close_codes.INTERNAL_ERROR)

    @property
    def _authenticator(self) -> Authenticator:
        authenticator: Authenticator = self.websocket.app.state.auth.authenticator
        return authenticator

    def _close_soon(self, close: Close) -> None:
        """Closes from inside a task the close cancels (an operation, the reader)."""
        task = asyncio.create_task(self.close(close), name="bizgraph-live-close")
        # Held until done: the loop keeps only weak references to tasks.
        self._closer = task

    def tick(self, now: float) -> float | None:
        """What is due at ``now`` (the shared clock calls it): the init timeout, the token's
        expiry, reaping a silent socket, a ping and its check of the user; returns when the
        socket is next due (None: it is closing)."""
        if self._closing:
            return None
        timings = self.timings
        if not self._init_received and now >= self._opened + timings.init_timeout:
            self._close_soon(close_codes.INIT_TIMEOUT)
            return None
        if self._expires_at is not None and now >= self._expires_at:
            self._close_soon(close_codes.TOKEN_EXPIRED)
            return None
        if now >= self._heard_at + timings.silence_timeout:
            log.info("socket reaped: silent for %.0f s (request %s)", now - self._heard_at, self.request_id)
            self._close_soon(close_codes.SILENT)
            return None
        session = self._session
        if session is not None and self._next_ping is not None and now >= self._next_ping:
            self.sender.offer(frames.PING)
            self._next_ping = now + timings.ping_interval
            # Most pings find the user's answer still standing: no task to wait for a look-up.
            if not self._authenticator.user_known_fine(session.principal):
                check = asyncio.create_task(self._user_still_valid(session.principal), name="bizgraph-live-user-check")
                self._user_checks.add(check)
                check.add_done_callback(self._user_checks.discard)
        return self._next_deadline()

    def _next_deadline(self) -> float:
        timings = self.timings
        # Messages move the silence deadline later without asking the clock: the socket finds
        # that out when it is called at the earlier time, and asks again.
        deadline = self._heard_at + timings.silence_timeout
        if not self._init_received:
            deadline = min(deadline, self._opened + timings.init_timeout)
        if self._expires_at is not None:
            deadline = min(deadline, self._expires_at)
        if self._next_ping is not None:
            deadline = min(deadline, self._next_ping)
        return deadline

    async def _user_still_valid(self, principal: Principal) -> bool:
        """Closes the socket (4403) once its user may no longer act: disabled, deleted or demoted
        since the socket opened (looked up at most every BIZGRAPH_TOKEN_USER_CACHE_SECONDS)."""
        try:
            await self._authenticator.check_user(principal)
        except Unauthenticated as refusal:
            await self.close(Close(close_codes.TOKEN_EXPIRED.code, close_codes.bounded_reason(f"Forbidden: {refusal}")))
            return False
        except Exception as error:  # the database is away: checked again at the next ping
            log.warning("could not check a socket's user (request %s): %s", self.request_id, error)
        return True

    async def _cancel_operations(self) -> None:
        running = list(self._running.values())
        self._running.clear()
        current = asyncio.current_task()
        for task in running:
            if task is not current:
                task.cancel()
        await asyncio.gather(*(task for task in running if task is not current), return_exceptions=True)
