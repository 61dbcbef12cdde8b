"""Subscriptions through the edge, against the live engine: over graphql-transport-ws, Apollo's
multipart protocol and graphql-sse, with the same admission as any operation, the caps, the end
of a stream at the token's expiry and at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import orjson
import pytest

from tests.support.auth import bearer, token_for, token_for_user
from tests.support.websocket_client import (
    answers,
    closed_with,
    eventually,
    init,
    live_server,
    live_tasks,
    receive,
    send,
    socket,
    subscribe,
)

ACME = 1
COUNT = "{ customers(first: 1) { totalCount } }"
CREATE = """mutation($name: String!) {
  createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) {
    customer { id } errors { code }
  }
}"""


@pytest.fixture(scope="module")
async def live(writes_settings):
    async with live_server(writes_settings) as server:
        yield server


@pytest.fixture(scope="module")
def admin_token(writes_settings):
    return token_for_user(writes_settings, "admin@acme.example")


def without_extensions(body: dict) -> dict:
    """An HTTP answer as a subscription message carries it: no ``extensions`` (the cost)."""
    return {key: value for key, value in body.items() if key != "extensions"}


async def http_answer(live, token: str, query: str) -> dict:
    response = await live.client.post("/graphql", json={"query": query}, headers=bearer(token))
    return without_extensions(response.json())


def total(message: dict) -> int:
    return message["payload"]["data"]["customers"]["totalCount"]


# --- graphql-transport-ws -------------------------------------------------------------------


async def test_a_live_query_over_the_socket_answers_now_and_again_after_a_mutation(live, admin_token):
    async with socket(live.origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "live", "subscription " + COUNT)
        first = await receive(ws)
        assert first["type"] == "next" and first["id"] == "live"
        assert first["payload"] == await http_answer(live, admin_token, COUNT)
        # A mutation over the same socket, then its commit reaches the engine.
        await subscribe(ws, "create", CREATE, {"name": "Live Socket GmbH"})
        created = [await receive(ws) for _ in range(2)]
        assert [(m["id"], m["type"]) for m in created] == [("create", "next"), ("create", "complete")]
        assert created[0]["payload"]["data"]["createCustomer"]["errors"] == []
        # The commit reaches the engine through the process's change listener.
        after = await receive(ws)
        assert after["id"] == "live" and total(after) == total(first) + 1
        assert after["payload"] == await http_answer(live, admin_token, COUNT)
        # complete stops it: a later change sends nothing for it.
        await send(ws, {"id": "live", "type": "complete"})
        await subscribe(ws, "create", CREATE, {"name": "Unwatched GmbH"})
        assert [m["type"] for m in await answers(ws, "create")] == ["next", "complete"]
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        with pytest.raises(TimeoutError):
            await receive(ws, within=0.5)
    # The server hears the close a moment later: the socket's place is given back.
    await eventually(lambda: live.app.state.live_edge.limits.connections == 0)


async def test_a_subscription_is_admitted_like_any_operation(writes_settings, admin_token):
    async with live_server(replace(writes_settings, max_cost=2)) as server, socket(server.origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "dear", "subscription { customers(first: 50) { nodes { name } } }")
        [priced] = await answers(ws, "dear")
        await subscribe(ws, "invalid", "subscription { customers(first: 1) { nope } }")
        [invalid] = await answers(ws, "invalid")
    assert priced["type"] == "error" and priced["payload"][0]["extensions"]["code"] == "COST_EXCEEDED"
    assert invalid["type"] == "error" and invalid["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_past_the_cap_per_connection_a_subscription_is_refused_and_the_socket_stays(writes_settings):
    settings = replace(writes_settings, max_subscriptions_per_connection=2)
    token = token_for(settings, org_id=ACME, roles=["admin"])
    async with live_server(settings) as server, socket(server.origin) as ws:
        await init(ws, token)
        for operation_id in ("one", "two"):
            await subscribe(ws, operation_id, "subscription " + COUNT)
            assert (await receive(ws))["type"] == "next"
        await subscribe(ws, "three", "subscription " + COUNT)
        [refused] = await answers(ws, "three")
        assert refused["type"] == "error"
        [error] = refused["payload"]
        assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        assert "BIZGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION" in error["message"]
        # Completing one frees its place.
        await send(ws, {"id": "one", "type": "complete"})
        await subscribe(ws, "four", "subscription " + COUNT)
        assert (await receive(ws))["id"] == "four"


async def test_past_the_cap_per_principal_a_subscription_is_refused_on_any_of_its_sockets(writes_settings):
    settings = replace(writes_settings, max_subscriptions_per_principal=2)
    token = token_for(settings, org_id=ACME, roles=["admin"], user_id=4242)
    other = token_for(settings, org_id=ACME, roles=["admin"], user_id=4343)
    async with (
        live_server(settings) as server,
        socket(server.origin) as first,
        socket(server.origin) as second,
        socket(server.origin) as third,
    ):
        await init(first, token)
        await init(second, token)
        await init(third, other)
        for ws, operation_id in ((first, "a"), (second, "b")):
            await subscribe(ws, operation_id, "subscription " + COUNT)
            assert (await receive(ws))["type"] == "next"
        await subscribe(second, "c", "subscription " + COUNT)
        [refused] = await answers(second, "c")
        assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        assert "BIZGRAPH_MAX_SUBSCRIPTIONS_PER_PRINCIPAL" in refused["payload"][0]["message"]
        # Another principal is not held to the first one's count.
        await subscribe(third, "d", "subscription " + COUNT)
        assert (await receive(third))["type"] == "next"


async def test_a_closing_socket_closes_its_subscriptions(live, admin_token):
    async with socket(live.origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "live", "subscription " + COUNT)
        assert (await receive(ws))["type"] == "next"
        assert live.app.state.live_edge.limits.held_by(principal_of(live, admin_token)) == 1
    await eventually(lambda: live.app.state.live_edge.limits.held_by(principal_of(live, admin_token)) == 0)


def principal_of(live, token: str):
    return live.app.state.auth.authenticator.cache.get(token, 0)


async def test_shutdown_sends_what_was_queued_then_closes_1001(writes_settings, admin_token):
    async with live_server(writes_settings) as server, socket(server.origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "live", "subscription " + COUNT)
        await server.app.state.live_edge.drain()
        code, reason, seen = await closed_with(ws)
    assert (code, reason) == (1001, "Going away")
    assert [m["type"] for m in seen] in (["next"], [])


# --- over plain HTTP --------------------------------------------------------------------------

MULTIPART = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json'


async def chunks(response: httpx.Response) -> AsyncIterator[str]:
    async for chunk in response.aiter_text():
        yield chunk


async def read_until(stream: AsyncIterator[str], marker: str, buffer: list[str], within: float = 5) -> str:
    """Reads the stream until what was read holds ``marker`` ``count`` times; all read so far."""
    async with asyncio.timeout(within):
        while marker not in "".join(buffer):
            buffer.append(await anext(stream))
    text = "".join(buffer)
    buffer.clear()
    head, _, rest = text.partition(marker)
    buffer.append(rest)
    return head + marker


def multipart_payloads(text: str) -> list[dict]:
    """The JSON objects of the parts in ``text`` (heartbeats ``{}`` included)."""
    parts = []
    for part in text.split("\r\n--graphql"):
        head, separator, body = part.partition("\r\n\r\n")
        if separator and body.strip():
            assert "content-type: application/json" in head.lower()
            parts.append(orjson.loads(body))
    return parts


async def test_multipart_streams_the_answer_then_each_change_with_heartbeats(writes_settings, admin_token):
    settings = replace(writes_settings, stream_heartbeat_ms=200)
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.origin) as http:
        headers = {**bearer(admin_token), "accept": MULTIPART}
        body = {"query": "subscription " + COUNT}
        async with http.stream("POST", "/graphql", json=body, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("multipart/mixed")
            assert 'boundary="graphql"' in response.headers["content-type"]
            stream, buffer = chunks(response), []
            text = await read_until(stream, '"payload"', buffer)
            text += await read_until(stream, "\r\n--graphql", buffer)
            [heartbeat, first] = multipart_payloads(text)
            assert heartbeat == {}
            assert first == {"payload": await http_answer(server, admin_token, COUNT)}
            # An idle stream beats.
            assert multipart_payloads(await read_until(stream, "{}\r\n--graphql", buffer)) == [{}]
            created = await server.client.post(
                "/graphql", json={"query": CREATE, "variables": {"name": "Multipart AG"}}, headers=bearer(admin_token)
            )
            assert created.json()["data"]["createCustomer"]["errors"] == []
            text = await read_until(stream, '"payload"', buffer)
            text += await read_until(stream, "\r\n--graphql", buffer)
            changed = [part for part in multipart_payloads(text) if part]
            assert changed == [{"payload": await http_answer(server, admin_token, COUNT)}]
            assert changed[0]["payload"]["data"]["customers"]["totalCount"] == (
                first["payload"]["data"]["customers"]["totalCount"] + 1
            )
        await eventually(lambda: server.app.state.live_edge.limits.connections == 0)


def sse_events(text: str) -> list[tuple[str, str]]:
    events = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if lines:
            fields = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in lines)
            events.append((fields["event"], fields.get("data", "")))
    return events


async def test_server_sent_events_stream_next_events_and_end_with_complete_at_shutdown(writes_settings, admin_token):
    async with live_server(writes_settings) as server, httpx.AsyncClient(base_url=server.origin) as http:
        headers = {**bearer(admin_token), "accept": "text/event-stream"}
        async with http.stream(
            "POST", "/graphql", json={"query": "subscription " + COUNT}, headers=headers
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream, buffer = chunks(response), []
            [(kind, data)] = sse_events(
                await read_until(stream, "\n\n", buffer, within=5) + await read_until(stream, "\n\n", buffer)
            )
            assert kind == "next"
            assert orjson.loads(data) == await http_answer(server, admin_token, COUNT)
            await server.app.state.live_edge.drain()
            assert sse_events(await read_until(stream, "event: complete\ndata:\n\n", buffer)) == [("complete", "")]
        # Nothing of the stream is left running.
        await eventually(lambda: live_tasks() == [])


async def test_an_http_stream_ends_when_its_token_expires(writes_settings):
    settings = replace(writes_settings, token_leeway_seconds=0)
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.origin, timeout=10) as http:
        # Minted once the server runs: its two seconds are the stream's.
        token = token_for(settings, org_id=ACME, roles=["admin"], ttl_seconds=2)
        headers = {**bearer(token), "accept": "text/event-stream"}
        response = await http.post("/graphql", json={"query": "subscription " + COUNT}, headers=headers)
    events = sse_events(response.text)
    assert [kind for kind, _ in events] == ["next", "next", "complete"]
    [error] = orjson.loads(events[1][1])["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED" and "expired" in error["message"]


async def test_a_subscription_over_http_without_a_streaming_accept_is_refused_406(live, admin_token):
    response = await live.client.post("/graphql", json={"query": "subscription " + COUNT}, headers=bearer(admin_token))
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_an_http_stream_is_refused_past_the_cap_per_principal(writes_settings):
    settings = replace(writes_settings, max_subscriptions_per_principal=1)
    token = token_for(settings, org_id=ACME, roles=["admin"], user_id=5151)
    async with live_server(settings) as server, socket(server.origin) as ws:
        await init(ws, token)
        await subscribe(ws, "held", "subscription " + COUNT)
        assert (await receive(ws))["type"] == "next"
        headers = {**bearer(token), "accept": "text/event-stream"}
        response = await server.client.post("/graphql", json={"query": "subscription " + COUNT}, headers=headers)
    assert response.status_code == 429
    assert response.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"


async def test_http_streams_are_refused_503_past_the_connection_cap_and_while_shutting_down(
    writes_settings, admin_token
):
    settings = replace(writes_settings, max_live_connections=1)
    headers = {**bearer(admin_token), "accept": "text/event-stream"}
    body = {"query": "subscription " + COUNT}
    async with live_server(settings) as server, socket(server.origin) as ws:
        await init(ws, admin_token)
        full = await server.client.post("/graphql", json=body, headers=headers)
        assert full.status_code == 503 and full.headers["retry-after"] == "1"
        assert full.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        await server.app.state.live_edge.drain()
        draining = await server.client.post("/graphql", json=body, headers=headers)
    assert draining.status_code == 503
    assert draining.json()["errors"][0]["extensions"]["code"] == "SHUTTING_DOWN"


async def test_a_query_asked_for_as_an_event_stream_answers_one_next_event_then_complete(live, admin_token):
    query = "{ customers(first: 2) { totalCount nodes { name } } }"
    plain = await live.client.post("/graphql", json={"query": query}, headers=bearer(admin_token))
    headers = {**bearer(admin_token), "accept": "text/event-stream"}
    streamed = await live.client.post("/graphql", json={"query": query}, headers=headers)
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/event-stream")
    assert sse_events(streamed.text) == [("next", plain.text), ("complete", "")]
    # A request error stays a JSON answer, as graphql-sse answers one.
    broken = await live.client.post("/graphql", json={"query": "{ nope }"}, headers=headers)
    assert broken.headers["content-type"] == "application/json"
    assert broken.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_subscription_over_http_that_does_not_validate_answers_its_errors_as_json(live, admin_token):
    headers = {**bearer(admin_token), "accept": "text/event-stream"}
    response = await live.client.post(
        "/graphql", json={"query": "subscription { customers(first: 1) { nope } }"}, headers=headers
    )
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_burst_the_feed_has_ready_is_one_chunk_of_the_stream():
    """What the feed has ready when a message arrives goes out with it, in order, as one chunk
    (one write); a message that arrives later is a chunk of its own."""
    import time

    from app.auth.principal import Principal
    from app.http.live.http_streams import HttpStreams, LiveStream
    from app.http.live.limits import LiveLimits
    from app.http.live.stream_formats import format_for

    class Burst:
        def __init__(self) -> None:
            self.queued: list[bytes] = []
            self.arrived = asyncio.Event()
            self.ended = False

        def __aiter__(self) -> Burst:
            return self

        async def __anext__(self) -> bytes:
            while not self.queued:
                if self.ended:
                    raise StopAsyncIteration
                self.arrived.clear()
                await self.arrived.wait()
            return self.queued.pop(0)

        def take_ready(self) -> list[bytes]:
            taken, self.queued = self.queued, []
            return taken

        def push(self, *messages: bytes) -> None:
            self.queued.extend(messages)
            self.arrived.set()

        async def aclose(self) -> None:
            self.ended = True
            self.arrived.set()

    limits = LiveLimits(max_connections=1, per_connection=1, per_principal=1)
    streams = HttpStreams(
        limits, heartbeat_seconds=60, register=lambda _: None, unregister=lambda _: None, accepting=lambda: True
    )
    feed = Burst()
    lease = limits.subscribe(Principal(org_id=1, subject="s", roles=frozenset({"admin"})), held_by_connection=0)
    sse = format_for("text/event-stream")
    assert sse is not None
    body = streams._body(feed, sse, LiveStream(), time.time() + 60, lease, "rid")
    assert await anext(body) == sse.opening()
    feed.push(b'{"data":1}', b'{"data":2}', b'{"data":3}')
    assert await anext(body) == sse.next(b'{"data":1}') + sse.next(b'{"data":2}') + sse.next(b'{"data":3}')
    feed.push(b'{"data":4}')
    assert await anext(body) == sse.next(b'{"data":4}')
    await feed.aclose()
    assert await anext(body) == sse.complete()
    await body.aclose()
    assert limits.held_by(Principal(org_id=1, subject="s", roles=frozenset({"admin"}))) == 0
