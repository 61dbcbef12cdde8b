"""The HTTP/1.1 connection, with the common request answered in the protocol itself.

uvicorn's httptools protocol serves everything; for each request it builds an ASGI cycle (a
scope, an event, a task running the application through its middleware, messages for the body
and for the answer) and writes the answer's head and body in two writes, two system calls: for a
small query, about a tenth of the server's CPU per request. This protocol keeps uvicorn's
for everything (parsing, keep-alive, flow control, pipelining, upgrades, the server's shutdown)
and answers the lean path's requests (``app/http/lean_queries.py``) without an ASGI cycle: the
body is gathered as the parser hands it over, the lean path runs in a task of its own, and the
answer goes out in one write.

A request is the protocol's only when nothing about it needs the general machinery: ``POST``
to exactly ``/graphql`` (no query string, no root path), no ``Expect``, no upgrade, nothing in
flight before it on the connection, and headers the lean path accepts (``LeanPath.eligible``).
When the lean path declines it after reading the body (another kind of operation, a token that
fails), the request goes on to the application in an ordinary uvicorn cycle, its body replayed
and marked so the middleware does not look at it again: the general path answers, once.

While a request is the protocol's, the connection's ``cycle`` is an ``_Answering`` that speaks
for it, so that uvicorn's own code does what it does for a request in flight: a request
pipelined behind it waits its turn, the server's shutdown lets it finish and then closes the
connection, a lost connection marks it gone (and nothing is written).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response
from starlette.types import Scope
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from app.http.errors import cut_off_response, draining, response_for
from app.http.lean_queries import DECLINED, LeanHeaders, LeanPath
from app.http.request_id import request_id_of

PATH = b"/graphql"


class LeanHttpProtocol(HttpToolsProtocol):
    """uvicorn's ``HttpToolsProtocol``, answering the lean path's requests itself. The
    application is found through ``config.app``: a bizgraph application keeps its ``LeanPath``
    on its state; for any other application this is uvicorn's protocol unchanged."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._application = config.app
        lean = getattr(getattr(config.app, "state", None), "lean_path", None)
        usable = isinstance(lean, LeanPath) and lean.enabled and not config.root_path
        self._lean: LeanPath | None = lean if usable and self.limit_concurrency is None else None
        # The request whose body is being received, when it is the protocol's.
        self._receiving: _Receiving | None = None

    def on_headers_complete(self) -> None:
        receiving = self._lean_request() if self._lean is not None else None
        if receiving is None:
            super().on_headers_complete()
            return
        self._receiving = receiving
        # uvicorn's code sees a request in flight (the module's doc).
        self.cycle = receiving.answering  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        if self._receiving is not None:
            # No more than the announced length, which the lean path bounded (llhttp frames it).
            self._receiving.parts.append(body)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        receiving = self._receiving
        if receiving is None:
            super().on_message_complete()
            return
        self._receiving = None
        task = self.loop.create_task(self._answer(receiving))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    def _lean_request(self) -> _Receiving | None:
        """The request whose headers just ended, when it is the protocol's to answer."""
        if (
            self.url != PATH
            or self.expect_100_continue
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.parser.get_method() != b"POST"
            or self.parser.should_upgrade()
        ):
            return None
        assert self._lean is not None
        scope = self.scope
        http_version = self.parser.get_http_version()
        scope["method"] = "POST"
        if http_version != "1.1":
            scope["http_version"] = http_version
        scope["path"] = "/graphql"
        scope["raw_path"] = PATH
        scope["query_string"] = b""
        headers = self._lean.eligible(scope)  # type: ignore[arg-type]
        if headers is None:
            return None
        # Starlette puts the application on the scope; the lean path reads its state there.
        scope["app"] = self._application  # type: ignore[typeddict-unknown-key]
        keep_alive = http_version != "1.0" and self.parser.should_keep_alive()
        return _Receiving(scope, headers, _Answering(keep_alive))  # type: ignore[arg-type]

    async def _answer(self, receiving: _Receiving) -> None:
        assert self._lean is not None
        scope, answering = receiving.scope, receiving.answering
        body = b"".join(receiving.parts)

        async def deliver(status: int, headers: list[tuple[bytes, bytes]], payload: bytes) -> None:
            await self._write(answering, status, headers, payload)

        try:
            taken = await self._lean.take(scope, body, receiving.headers)
            if taken is None:
                self._hand_on(receiving, body)
                return
            await self._lean.answer(scope, receiving.headers, taken, deliver)
        except asyncio.CancelledError:
            if answering.response_complete or not draining(scope):
                raise
            # Cut off by the drain's deadline: answered as ``AnswerErrorsAsJson`` answers it.
            await self._write_response(answering, cut_off_response(scope))
        except Exception as error:
            if answering.response_complete:
                raise
            await self._write_response(answering, response_for(error, request_id_of(scope)))

    def _hand_on(self, receiving: _Receiving, body: bytes) -> None:
        """The request to the application as uvicorn would have run it, its body already whole."""
        answering = receiving.answering
        scope = receiving.scope
        scope[DECLINED] = True
        cycle = RequestResponseCycle(
            scope=scope,  # type: ignore[arg-type]
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=answering.keep_alive,
            on_response=self.on_response_complete,
        )
        cycle.body = bytearray(body)
        cycle.more_body = False
        cycle.disconnected = answering.disconnected
        cycle.message_event.set()
        if self._cycle_is(answering):
            # Nothing was pipelined behind it: the connection's state follows the real cycle.
            self.cycle = cycle
        self._start_asgi_task(cycle, self.app)

    def _cycle_is(self, answering: _Answering) -> bool:
        current: object = self.cycle
        return current is answering

    async def _write_response(self, answering: _Answering, response: Response) -> None:
        await self._write(answering, response.status_code, list(response.raw_headers), bytes(response.body))

    async def _write(
        self, answering: _Answering, status: int, headers: list[tuple[bytes, bytes]], payload: bytes
    ) -> None:
        """The answer in one write: status line, the server's headers, the answer's, the body."""
        if self.flow.write_paused and not answering.disconnected:
            await self.flow.drain()
        if answering.disconnected or self.transport.is_closing():
            answering.response_complete = True
            return
        parts = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            parts += (name, b": ", value, b"\r\n")
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if not answering.keep_alive:
            parts.append(b"connection: close\r\n")
        parts += (b"\r\n", payload)
        self.transport.write(b"".join(parts))
        answering.response_complete = True
        if not answering.keep_alive:
            self.transport.close()
        self.on_response_complete()


class _Answering:
    """What uvicorn's protocol sees of a request the lean protocol answers (its ``cycle``):
    whether the answer is complete, whether the connection stays open after it, whether the
    client went away."""

    __slots__ = ("disconnected", "keep_alive", "message_event", "response_complete")

    def __init__(self, keep_alive: bool) -> None:
        self.keep_alive = keep_alive
        self.response_complete = False
        self.disconnected = False
        # uvicorn wakes a cycle's reader when the connection is lost; nothing waits here.
        self.message_event = _NothingWaits()


class _NothingWaits:
    __slots__ = ()

    def set(self) -> None:
        pass


class _Receiving:
    __slots__ = ("answering", "headers", "parts", "scope")

    def __init__(self, scope: Scope, headers: LeanHeaders, answering: _Answering) -> None:
        self.scope = scope
        self.headers = headers
        self.answering = answering
        self.parts: list[bytes] = []
