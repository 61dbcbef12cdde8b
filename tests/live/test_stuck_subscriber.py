"""One client that never reads, with the real live engine: it shares a group with a client that
reads, and its socket is full, yet the other's answers arrive as if it were alone. (The edge's
part alone, with a scripted engine, is in test_socket_flow_control.py.)"""

from __future__ import annotations

import asyncio
import socket as stdlib_socket
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.auth import bearer, token_for_user
from tests.support.websocket_client import (
    init,
    live_server,
    never_reading_socket,
    receive,
    socket,
    subscribe,
    unread_bytes,
)

COUNT = "subscription { customers(first: 1) { totalCount } }"
# Every customer with their orders: a large answer, read again whenever a customer changes.
LARGE = """subscription { customers(first: 100) { edges { node {
  id number name email phone country segment status version createdAt updatedAt
  orders(first: 20) { edges { node { id number status subtotal tax total placedAt createdAt updatedAt } } }
} } } }"""
CREATE = """mutation($name: String!) {
  createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) { errors { code } }
}"""
LARGE_SUBSCRIPTIONS = 60
# A write's answer reaches a reading subscriber within this, however stuck another is (the
# engine re-runs at most every 100 ms by default).
BOUND_SECONDS = 1.0


def most_a_connection_buffers() -> int:
    """The most one loopback connection buffers for a client that never reads: the server's
    send buffer at its largest, and a generous allowance for the client's own small one."""
    send_max = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    return send_max + 256 * 1024


async def stuck_at(raw: stdlib_socket.socket) -> int:
    """Waits until nothing more reaches the never-reading client's socket; what it holds then."""
    held = -1
    for _ in range(100):
        await asyncio.sleep(0.05)
        if unread_bytes(raw) == held > 0:
            return held
        held = unread_bytes(raw)
    raise AssertionError("the never-reading client's socket never filled")


@pytest.fixture
async def live(writes_settings):
    # A short send queue per socket, so that a stuck one is stuck soon.
    async with live_server(replace(writes_settings, ws_send_queue_frames=4)) as server:
        yield server


@pytest.mark.timeout(60)
async def test_a_subscriber_that_never_reads_delays_no_one_on_the_same_process(live, writes_settings):
    token = token_for_user(writes_settings, "admin@acme.example")
    large = (
        await live.client.post(
            "/graphql", json={"query": LARGE.replace("subscription", "query", 1)}, headers=bearer(token)
        )
    ).content
    # The stuck client is sent far more than the connection can buffer: its server side must wait.
    assert LARGE_SUBSCRIPTIONS * len(large) > 2 * most_a_connection_buffers(), len(large)
    init_message = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    stuck_messages = [init_message]
    stuck_messages += [
        {"id": f"large-{n}", "type": "subscribe", "payload": {"query": LARGE}} for n in range(LARGE_SUBSCRIPTIONS)
    ]
    stuck_messages.append({"id": "count", "type": "subscribe", "payload": {"query": COUNT}})
    async with never_reading_socket(live.origin, stuck_messages) as stuck, socket(live.origin) as reader:
        # Given a client that subscribed to much and reads nothing, until its socket is full
        full = await stuck_at(stuck)
        # and another on the same process, subscribed to one of the stuck one's live queries
        await init(reader, token)
        await subscribe(reader, "count", COUNT)
        count = (await receive(reader))["payload"]["data"]["customers"]["totalCount"]
        # When customers are created, one after the other
        for n in range(3):
            answer = await live.client.post(
                "/graphql", json={"query": CREATE, "variables": {"name": f"Unhurried {n} AG"}}, headers=bearer(token)
            )
            assert answer.json()["data"]["createCustomer"]["errors"] == []
            written = time.monotonic()
            message = await receive(reader, within=BOUND_SECONDS)
            # Then each new count reaches the reading client within the bound
            assert time.monotonic() - written < BOUND_SECONDS
            assert message["payload"]["data"]["customers"]["totalCount"] == count + n + 1
        # while the stuck one still has taken nothing more
        assert unread_bytes(stuck) == full
