"""A graphql-transport-ws client for tests, over a real port (tests.support.serving): the
``websockets`` library speaks the WebSocket, these helpers the protocol's messages."""

from __future__ import annotations

import asyncio
import contextlib
import socket as stdlib_socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.uri import parse_uri

from tests.support.graphql import running_app
from tests.support.serving import serve

SUBPROTOCOL = "graphql-transport-ws"


def ws_url(origin: str) -> str:
    return origin.replace("http://", "ws://", 1) + "/graphql"


@contextlib.asynccontextmanager
async def socket(
    origin: str,
    *,
    subprotocols: tuple[str, ...] = (SUBPROTOCOL,),
    headers: dict[str, str] | None = None,
    browser_origin: str | None = None,
    max_queue: int | None = 64,
) -> AsyncIterator[ClientConnection]:
    """An open socket to the served app's ``/graphql`` (``browser_origin`` sent as ``Origin``)."""
    async with connect(
        ws_url(origin),
        subprotocols=list(subprotocols),  # type: ignore[arg-type]
        additional_headers=headers,
        origin=browser_origin,  # type: ignore[arg-type]
        max_queue=max_queue,
        # WebSocket-level pings are the library's; the protocol's own are tested here.
        ping_interval=None,
        open_timeout=5,
    ) as connection:
        yield connection


async def send(connection: ClientConnection, message: dict[str, Any] | str) -> None:
    await connection.send(message if isinstance(message, str) else orjson.dumps(message).decode())


async def receive(connection: ClientConnection, within: float = 5) -> dict[str, Any]:
    """The next message; fails if none comes within ``within`` seconds or the socket closes."""
    async with asyncio.timeout(within):
        raw = await connection.recv()
    message: dict[str, Any] = orjson.loads(raw)
    return message


async def receive_raw(connection: ClientConnection, within: float = 5) -> str:
    async with asyncio.timeout(within):
        raw = await connection.recv()
    assert isinstance(raw, str), "frames are text"
    return raw


async def init(connection: ClientConnection, token: str | None = None, **payload: Any) -> None:
    """connection_init (with ``Authorization: Bearer token`` when given), expecting the ack."""
    if token is not None:
        payload = {"Authorization": f"Bearer {token}", **payload}
    await send(connection, {"type": "connection_init", "payload": payload})
    assert await receive(connection) == {"type": "connection_ack"}


async def subscribe(
    connection: ClientConnection, operation_id: str, query: str, variables: dict[str, Any] | None = None
) -> None:
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    await send(connection, {"id": operation_id, "type": "subscribe", "payload": payload})


async def closed_with(connection: ClientConnection, within: float = 5) -> tuple[int, str, list[dict[str, Any]]]:
    """Reads until the server closes the socket: its code, its reason and the messages before."""
    seen: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(within):
            while True:
                seen.append(orjson.loads(await connection.recv()))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the server sent no close frame"
        return closed.rcvd.code, closed.rcvd.reason, seen


async def answers(connection: ClientConnection, operation_id: str, within: float = 5) -> list[dict[str, Any]]:
    """Every message of one operation up to its ``complete`` or ``error`` (pings answered)."""
    seen: list[dict[str, Any]] = []
    while True:
        message = await receive(connection, within)
        if message["type"] == "ping":
            await send(connection, {"type": "pong"})
            continue
        assert message.get("id") == operation_id, message
        seen.append(message)
        if message["type"] in ("complete", "error"):
            return seen


@dataclass(frozen=True)
class LiveServer:
    app: Any
    client: httpx.AsyncClient  # over ASGI, no port
    origin: str  # the real port's, ``http://127.0.0.1:<port>``


@contextlib.asynccontextmanager
async def live_server(settings: Any) -> AsyncIterator[LiveServer]:
    """An app of its own for ``settings`` (short timings, small caps), served on a real port."""
    async with running_app(settings) as (app, client), serve(app) as origin:
        yield LiveServer(app, client, origin)


@contextlib.asynccontextmanager
async def never_reading_socket(origin: str, messages: list[dict[str, Any]]) -> AsyncIterator[None]:
    """A client that opens a socket, sends ``messages`` and then never reads again: a small
    receive buffer of its own, and nothing taken from it after the handshake's answer."""
    host, port = origin.removeprefix("http://").split(":")
    raw = stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_STREAM)
    raw.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=raw, limit=4096)
    protocol = ClientProtocol(parse_uri(ws_url(origin)), subprotocols=[SUBPROTOCOL])  # type: ignore[list-item]
    protocol.send_request(protocol.connect())
    writer.write(b"".join(protocol.data_to_send()))
    protocol.receive_data(await reader.readuntil(b"\r\n\r\n"))
    assert protocol.handshake_exc is None, protocol.handshake_exc
    for message in messages:
        protocol.send_text(orjson.dumps(message))
    writer.write(b"".join(protocol.data_to_send()))
    await writer.drain()
    try:
        yield
    finally:
        writer.transport.abort()


async def eventually(condition: Any, within: float = 3) -> None:
    """Polls ``condition`` until it holds (what the server does after a client leaves takes a moment)."""
    for _ in range(int(within / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still not true after {within} s")


def live_tasks() -> list[asyncio.Task[Any]]:
    """The edge's tasks still alive (sockets' readers, writers, watchdogs, operations; streams')."""
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("bizgraph-live")]
