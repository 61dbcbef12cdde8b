"""One subscriber's WebSocket for the subscription bench's load, read from the loop's callbacks.

The load process shares the machine with the server it measures: every millisecond it spends on a
message is taken from the server (and PostgreSQL), and every millisecond its loop is late is added
to the latencies it measures. So a subscriber's socket is an asyncio protocol around the
``websockets`` library's sans-I/O client (its handshake, framing, masking, close handshake and
automatic pong): bytes are parsed into frames in ``data_received`` and each text message is handed
to the subscriber's handler there and then, with no task to wake, no queue and no future per
message (the library's asyncio client costs a task switch and a future for every ``recv``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

# How long a client close waits for the server's answer before the connection is dropped.
CLOSE_WAIT_SECONDS = 5.0


class SocketClosed(Exception):
    """The connection ended before the client closed it; ``code`` is the server's close code."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"{code if code is not None else '?'} {reason}".strip())
        self.code = code


class LeanSocket(asyncio.Protocol):
    """A client WebSocket whose text messages go to ``on_text`` as they are parsed."""

    def __init__(self, url: str, subprotocol: str, max_size: int, on_text: Callable[[bytes], None]) -> None:
        self.uri = parse_uri(url)
        self.ws = ClientProtocol(self.uri, subprotocols=[Subprotocol(subprotocol)], max_size=max_size)
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._fragments: list[bytes] = []

    @classmethod
    async def open(cls, url: str, subprotocol: str, max_size: int, on_text: Callable[[bytes], None]) -> LeanSocket:
        """Connects and completes the opening handshake (the caller bounds how long it may take)."""
        socket = cls(url, subprotocol, max_size, on_text)
        await asyncio.get_running_loop().create_connection(lambda: socket, socket.uri.host, socket.uri.port)
        await socket.opened
        return socket

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame):
                self._frame(event)
            elif isinstance(event, Response) and not self.opened.done():
                if self.ws.handshake_exc is not None:
                    self.opened.set_exception(self.ws.handshake_exc)
                else:
                    self.opened.set_result(None)
        self._flush()  # pongs, the close handshake's answer

    def _frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.TEXT or (frame.opcode is Opcode.CONT and self._fragments):
            if frame.fin and not self._fragments:
                self.on_text(bytes(frame.data))
            elif frame.fin:
                self._fragments.append(bytes(frame.data))
                message, self._fragments = b"".join(self._fragments), []
                self.on_text(message)
            else:
                self._fragments.append(bytes(frame.data))

    def send_text(self, text: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise SocketClosed(self.ws.close_code, "the connection is closed")
        self.ws.send_text(text)
        self._flush()

    def _flush(self) -> None:
        if self.transport is None:
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()  # the library's end of stream, after a close
        if self.ws.close_expected():
            self.transport.close()

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        return None  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        ended = SocketClosed(self.ws.close_code, self.ws.close_reason or (str(exc) if exc else ""))
        if not self.opened.done():
            self.opened.set_exception(ended)
        if not self.closed.done():
            self.closed.set_result(None)

    async def close(self) -> None:
        """Starts the close handshake and waits (bounded) for the connection to end."""
        if self.transport is None or self.closed.done():
            return
        if not self.transport.is_closing():
            self.ws.send_close(1000)
            self._flush()
        try:
            async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                await asyncio.shield(self.closed)
        except TimeoutError:
            self.transport.abort()
