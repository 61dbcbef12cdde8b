"""A socket's frames go out in batches (app/http/live/sender.py, wire.py): under uvicorn straight
to its transport, every frame waiting in one write; under any other ASGI server one
``websocket.send`` per frame. Either way each message is a text frame of its own, in order, the
same bytes; and a burst of messages to many sockets does not hold up an HTTP write."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection

from app.http.live.sender import SocketSender
from app.http.live.wire import AsgiWire, TransportWire
from tests.support.auth import bearer, token_for, token_for_user
from tests.support.graphql import running_app
from tests.support.scripted_live import END, ScriptedLiveService
from tests.support.serving import serve
from tests.support.websocket_client import LiveServer, init, receive_raw, send, socket, subscribe

ACME = 1
LIVE = "subscription { customers(first: 1) { totalCount } }"
MUTATION = (
    'mutation { createCustomer(input: {name: "Burst Ltd", kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"})'
    " { customer { id } errors { code } } }"
)


def message(n: int) -> bytes:
    return orjson.dumps({"data": {"customers": {"totalCount": n}}})


def next_text(operation_id: str, payload: bytes) -> str:
    """A ``next`` message as graphql-transport-ws spells it, built independently of the server."""
    return '{"id":' + orjson.dumps(operation_id).decode() + ',"type":"next","payload":' + payload.decode() + "}"


def _hiding_the_transport(app: Any) -> Any:
    """The app behind a wrapper that hands it a plain ``send``, as another ASGI server (or a
    middleware of someone else's) would: the socket cannot find uvicorn's transport."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def plain_send(message: Any) -> None:
            await send(message)

        await app(scope, receive, plain_send)

    return wrapped


@contextlib.asynccontextmanager
async def scripted_server(settings: Any, *, through_asgi: bool) -> AsyncIterator[LiveServer]:
    async with running_app(settings) as (app, client):
        served = _hiding_the_transport(app) if through_asgi else app
        async with serve(served) as origin:
            app.state.live = ScriptedLiveService()
            yield LiveServer(app, client, origin)


@pytest.fixture(scope="module")
def token(demo_settings):
    return token_for(demo_settings, org_id=ACME, roles=["admin"])


def server_senders(server: LiveServer) -> list[SocketSender]:
    return [entry.sender for entry in server.app.state.live_edge.open if hasattr(entry, "sender")]


async def read_texts(ws: ClientConnection, count: int, within: float = 20) -> list[str]:
    """The next ``count`` frames, each as the text it came as (the server's pings answered)."""
    texts: list[str] = []
    while len(texts) < count:
        text = await receive_raw(ws, within)
        if text == '{"type":"ping"}':
            await send(ws, {"type": "pong"})
            continue
        texts.append(text)
    return texts


@pytest.mark.parametrize("through_asgi", [False, True], ids=["uvicorn-transport", "asgi-send"])
async def test_a_burst_to_one_socket_is_one_text_frame_per_message_in_order_with_the_same_bytes(
    demo_settings, token, through_asgi
):
    async with scripted_server(demo_settings, through_asgi=through_asgi) as server:
        service = server.app.state.live
        # An id JSON must escape: the envelope is built around it, not formatted into text.
        operation_id = 'q"1\\é'
        async with socket(server.origin) as ws:
            await init(ws, token)
            (sender,) = server_senders(server)
            assert isinstance(sender.wire, AsgiWire if through_asgi else TransportWire)
            await subscribe(ws, operation_id, LIVE)
            feed = await service.next_feed()
            payloads = [message(n) for n in range(500)]
            # All at once, before the server's writer runs: the writer takes them in batches.
            for payload in payloads:
                feed.push(payload)
            feed.push(END)
            texts = await read_texts(ws, len(payloads) + 1)
    assert texts[:-1] == [next_text(operation_id, payload) for payload in payloads]
    assert orjson.loads(texts[-1]) == {"id": operation_id, "type": "complete"}


async def test_a_burst_to_many_sockets_does_not_hold_up_an_http_write(writes_settings):
    """Two hundred sockets are each handed 500 messages at once (100,000 frames): a mutation sent
    over HTTP at the same moment is answered while the burst is still going out, not after it,
    and every socket then receives all of its messages, in order."""
    sockets, per_socket = 200, 500
    settings = replace(writes_settings, max_live_connections=sockets + 10)
    admin = token_for_user(writes_settings, "admin@acme.example")
    async with scripted_server(settings, through_asgi=False) as server:
        service = server.app.state.live
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(socket(server.origin, max_queue=None)) for _ in range(sockets)]
            for n, ws in enumerate(clients):
                await init(ws, admin)
                await subscribe(ws, f"s{n}", LIVE)
            feeds = [await service.next_feed(count) for count in range(1, sockets + 1)]
            async with httpx.AsyncClient(base_url=server.origin) as http:
                for feed in feeds:
                    for n in range(per_socket):
                        feed.push(message(n))
                started = time.monotonic()
                answer = await http.post("/graphql", json={"query": MUTATION}, headers=bearer(admin), timeout=60)
                answered_in = time.monotonic() - started
                taken_then = sum(feed.sent for feed in feeds)
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["createCustomer"]["errors"] == []
            # The write went in between the burst's batches.
            assert taken_then < sockets * per_socket, f"answered in {answered_in:.2f} s, after the whole burst"
            for n, ws in enumerate(clients):
                texts = await read_texts(ws, per_socket, within=30)
                assert texts == [next_text(f"s{n}", message(i)) for i in range(per_socket)]
