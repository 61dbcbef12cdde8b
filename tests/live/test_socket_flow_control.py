"""Situations the live engine does not produce on demand, with a scripted stand-in for it
(tests/support/scripted_live.py): a feed the server ends (STREAM_OVERFLOW), a client that never
reads while others do, messages still queued at shutdown, a feed that fails with a bug."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import orjson
import pytest

from app.errors import StreamOverflow
from tests.support.auth import bearer, token_for
from tests.support.scripted_live import END, ScriptedLiveService
from tests.support.websocket_client import (
    answers,
    closed_with,
    eventually,
    init,
    live_server,
    live_tasks,
    never_reading_socket,
    receive,
    send,
    socket,
    subscribe,
)

ACME = 1
LIVE = "subscription { customers(first: 1) { totalCount } }"


def message(n: int) -> bytes:
    return orjson.dumps({"data": {"customers": {"totalCount": n}}})


@pytest.fixture
async def scripted(demo_settings):
    settings = replace(demo_settings, ws_send_queue_frames=4)
    async with live_server(settings) as server:
        server.app.state.live = ScriptedLiveService()
        yield server


@pytest.fixture(scope="module")
def token(demo_settings):
    return token_for(demo_settings, org_id=ACME, roles=["admin"])


async def test_each_feed_message_is_a_next_frame_and_the_feeds_end_a_complete(scripted, token):
    service = scripted.app.state.live
    async with socket(scripted.origin) as ws:
        await init(ws, token)
        await subscribe(ws, "s", LIVE)
        feed = await service.next_feed()
        for n in (1, 2):
            feed.push(message(n))
        feed.push(END)
        seen = await answers(ws, "s")
    assert seen == [
        {"id": "s", "type": "next", "payload": {"data": {"customers": {"totalCount": 1}}}},
        {"id": "s", "type": "next", "payload": {"data": {"customers": {"totalCount": 2}}}},
        {"id": "s", "type": "complete"},
    ]
    assert feed.closed.is_set()


async def test_a_feed_the_server_ends_answers_error_with_its_code_and_the_socket_stays(scripted, token):
    service = scripted.app.state.live
    async with socket(scripted.origin) as ws:
        await init(ws, token)
        await subscribe(ws, "events", LIVE)
        feed = await service.next_feed()
        feed.push(message(1))
        feed.push(StreamOverflow())
        [first, error] = await answers(ws, "events")
        assert first["type"] == "next"
        assert error["type"] == "error"
        assert error["payload"][0]["extensions"]["code"] == "STREAM_OVERFLOW"
        assert "last cursor" in error["payload"][0]["message"]
        await subscribe(ws, "q", "{ me { roles } }")
        assert [m["type"] for m in await answers(ws, "q")] == ["next", "complete"]
    assert feed.closed.is_set()


async def test_complete_and_disconnect_close_the_feed(scripted, token):
    service = scripted.app.state.live
    async with socket(scripted.origin) as ws:
        await init(ws, token)
        await subscribe(ws, "a", LIVE)
        completed = await service.next_feed(1)
        await subscribe(ws, "b", LIVE)
        dropped = await service.next_feed(2)
        await send(ws, {"id": "a", "type": "complete"})
        async with asyncio.timeout(3):
            await completed.closed.wait()
        assert not dropped.closed.is_set()
    async with asyncio.timeout(3):
        await dropped.closed.wait()


async def test_a_client_that_never_reads_delays_no_one_else(scripted, token):
    service = scripted.app.state.live
    # One subscriber floods a client that reads nothing; another, on a socket of its own, is
    # served as if alone.
    service.flood = orjson.dumps({"data": {"blob": "x" * 65_536}})
    init_message = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    flood_message = {"id": "flood", "type": "subscribe", "payload": {"query": LIVE}}
    async with never_reading_socket(scripted.origin, [init_message, flood_message]):
        flood = await service.next_feed(1)
        service.flood = None
        async with socket(scripted.origin) as reader:
            await init(reader, token)
            await subscribe(reader, "live", LIVE)
            feed = await service.next_feed(2)
            for n in range(5):
                feed.push(message(n))
                answer = await receive(reader, within=1)
                assert answer["payload"]["data"]["customers"]["totalCount"] == n
            # The stalled socket's subscription waits for room: it stopped taking messages.
            taken = flood.sent
            await asyncio.sleep(0.5)
            assert flood.sent == taken
            assert taken < 1_000


async def test_shutdown_writes_the_messages_already_queued_then_closes_1001(scripted, token):
    service = scripted.app.state.live
    async with socket(scripted.origin) as ws:
        await init(ws, token)
        await subscribe(ws, "s", LIVE)
        feed = await service.next_feed()
        for n in range(3):
            feed.push(message(n))
        for _ in range(300):
            if feed.sent == 3:
                break
            await asyncio.sleep(0.01)
        await scripted.app.state.live_edge.drain()
        code, reason, seen = await closed_with(ws)
    assert (code, reason) == (1001, "Going away")
    assert [m["payload"]["data"]["customers"]["totalCount"] for m in seen] == [0, 1, 2]
    assert feed.closed.is_set()
    # Nothing of the socket is left running.
    await eventually(lambda: live_tasks() == [])


async def test_a_feed_failing_with_a_bug_closes_the_socket_4500(scripted, token):
    service = scripted.app.state.live
    async with socket(scripted.origin) as ws:
        await init(ws, token)
        await subscribe(ws, "s", LIVE)
        feed = await service.next_feed()
        feed.push(RuntimeError("internal detail"))
        code, reason, seen = await closed_with(ws)
    assert (code, reason, seen) == (4500, "Internal server error", [])


async def test_a_multipart_stream_the_server_ends_sends_a_last_part_with_the_error(scripted, token):
    service = scripted.app.state.live
    headers = {**bearer(token), "accept": "multipart/mixed;subscriptionSpec=1.0, application/json"}
    async with httpx.AsyncClient(base_url=scripted.origin, timeout=5) as http:
        request = http.post("/graphql", json={"query": LIVE}, headers=headers)
        answering = asyncio.create_task(request)
        feed = await service.next_feed()
        feed.push(message(7))
        feed.push(StreamOverflow())
        response = await answering
    assert response.headers["content-type"] == 'multipart/mixed; boundary="graphql"; subscriptionSpec="1.0"'
    parts = [part.partition("\r\n\r\n")[2] for part in response.text.split("\r\n--graphql")]
    bodies = [orjson.loads(body) for body in parts if body.strip()]
    assert bodies[0] == {}
    assert bodies[1] == {"payload": {"data": {"customers": {"totalCount": 7}}}}
    assert bodies[2]["payload"] is None and bodies[2]["errors"][0]["extensions"]["code"] == "STREAM_OVERFLOW"
    assert response.text.endswith("\r\n--graphql--\r\n")
    assert feed.closed.is_set()
