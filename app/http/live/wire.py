"""How a socket's frames reach its client: a batch of graphql-transport-ws messages (UTF-8 JSON,
one WebSocket text frame each) at a time.

- ``AsgiWire`` sends each frame as an ASGI ``websocket.send``: any ASGI server.
- ``TransportWire`` is for uvicorn's sans-I/O WebSocket protocol (what ``bizgraph serve`` runs
  with the ``websockets`` library installed). It frames the batch with that protocol's own
  WebSocket state machine (``websockets``' ``ServerProtocol``: its state, its extensions such
  as permessage-deflate) and writes the whole batch with **one** transport write. A page of
  events to one socket is then one system call, not one per event, and no ASGI message dict
  is built per frame: at 10,000 subscribers the per-frame send was what kept the process's one
  event loop from the writes' HTTP requests. It honours what uvicorn's own ``send`` honours:
  the transport's back-pressure (waits while uvicorn has paused writing), a socket already
  closing or gone (``WireClosed``).

``expose_transport`` is the ASGI middleware that lets a socket find uvicorn's protocol: ASGI
hands the application only ``send``, and uvicorn's ``send`` is a method of its protocol. The
middleware files the protocol under the scope's extensions (``bizgraph.websocket.protocol``)
when, and only when, it is that protocol; anything else keeps the ASGI path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

EXTENSION = "bizgraph.websocket.protocol"


class WireClosed(Exception):
    """The socket is closing or gone: nothing more can be sent on it."""


class Wire(Protocol):
    async def write(self, frames: Sequence[bytes]) -> None:
        """Sends ``frames`` in order, each one text frame. Raises ``WireClosed`` (or what the
        ASGI server raises) once the socket cannot take them."""
        ...

    def write_now(self, frames: Sequence[bytes]) -> bool:
        """Sends ``frames`` at once, without waiting, when the socket can take them now; False
        (nothing sent) when only ``write`` can. Raises as ``write`` does."""
        ...


class AsgiWire:
    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def write(self, frames: Sequence[bytes]) -> None:
        for frame in frames:
            await self._websocket.send_text(frame.decode())

    def write_now(self, frames: Sequence[bytes]) -> bool:
        return False  # an ASGI send is awaited


class TransportWire:
    """Frames written straight to the transport of uvicorn's sans-I/O WebSocket protocol."""

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol

    async def write(self, frames: Sequence[bytes]) -> None:
        protocol = self._protocol
        if not protocol.writable.is_set():
            # The kernel's buffer is full (a slow reader): wait as uvicorn's own send would.
            await protocol.writable.wait()
        self._send(frames)

    def write_now(self, frames: Sequence[bytes]) -> bool:
        if not self._protocol.writable.is_set():
            return False
        self._send(frames)
        return True

    def _send(self, frames: Sequence[bytes]) -> None:
        protocol = self._protocol
        if protocol.disconnected or protocol.close_sent:
            raise WireClosed()
        connection = protocol.conn
        try:
            for frame in frames:
                connection.send_text(frame)
        except Exception as error:  # websockets' InvalidState: a close frame went out or came in
            raise WireClosed() from error
        protocol.transport.write(b"".join(connection.data_to_send()))


def wire_for(websocket: WebSocket) -> Wire:
    protocol = websocket.scope.get("extensions", {}).get(EXTENSION)
    return TransportWire(protocol) if protocol is not None else AsgiWire(websocket)


def _uvicorn_sansio_protocol() -> type[Any] | None:
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError:  # uvicorn without it, or websockets not installed
        return None
    protocol: type[Any] = WebSocketsSansIOProtocol
    return protocol


_SANSIO = _uvicorn_sansio_protocol()
# What ``TransportWire`` touches of the protocol: checked once per socket, so a uvicorn that
# renamed any of them falls back to the ASGI path instead of failing mid-stream.
_USED = ("conn", "transport", "writable", "disconnected", "close_sent")


def expose_transport(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a WebSocket served by uvicorn's sans-I/O protocol carries that protocol
    in its scope's extensions (``EXTENSION``) for ``wire_for``."""

    async def exposing(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and _SANSIO is not None:
            protocol = getattr(send, "__self__", None)
            if type(protocol) is _SANSIO and all(hasattr(protocol, name) for name in _USED):
                scope["extensions"] = {**(scope.get("extensions") or {}), EXTENSION: protocol}
        await app(scope, receive, send)

    return exposing
