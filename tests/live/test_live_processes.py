"""Several ``bizgraph serve`` processes on one database, and PostgreSQL restarting under one.

Each process hears every commit through its own LISTEN connection, so a subscriber of one
process sees what was written through another (its live query answers again, its event stream
gets the event). When PostgreSQL restarts, nothing of bizgraph restarts: sockets stay open, the
listener reconnects, every live query is read again (so a change committed while nobody listened
still arrives) and every stream goes on from its cursor, with nothing lost and nothing twice;
requests right after the restart answer as usual.

Everything goes through the processes' public surface: HTTP, graphql-transport-ws, ``/readyz``."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL
from websockets.asyncio.client import ClientConnection

from app.config import Settings
from app.migrations import upgrade
from tests.conftest import _seeded_copy
from tests.support.auth import bearer, token_for_user
from tests.support.private_postgres import PrivateCluster, missing_reason, private_cluster
from tests.support.serving import ServeProcess, serve_environment, serve_process
from tests.support.websocket_client import init, receive, send, socket, subscribe
from tests.support.wire import CuttableProxy, cuttable_proxy

COUNT = "subscription { customers(first: 1) { totalCount } }"
STREAM = """subscription($after: String) {
  events(after: $after, types: ["customer.created"]) { cursor node { type entityId } }
}"""
HEAD = "{ events(last: 1) { edges { cursor } } }"
CREATE = """mutation($name: String!) {
  createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) {
    customer { id } errors { code }
  }
}"""
ADMIN = "admin@acme.example"
_names = itertools.count(1)


# --- helpers ---------------------------------------------------------------------------------


async def graphql(origin: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """One request to a process's ``/graphql``; its answer, which must carry no error."""
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=bearer(token))
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


async def create_customer(origin: str, token: str) -> str:
    """A new customer of acme, created through ``origin``'s API; its global ID."""
    data = await graphql(origin, token, CREATE, {"name": f"Process Test {next(_names)} GmbH"})
    assert data["createCustomer"]["errors"] == []
    customer_id: str = data["createCustomer"]["customer"]["id"]
    return customer_id


async def watch(ws: ClientConnection, origin: str, token: str) -> int:
    """Subscribes ``ws`` to the customer count ("live") and to customer.created events from now
    on ("events"); the count's first answer."""
    head = (await graphql(origin, token, HEAD))["events"]["edges"]
    # From the newest event's cursor: the stream is in place before any write, whatever its timing.
    await subscribe(ws, "events", STREAM, {"after": head[-1]["cursor"] if head else None})
    await subscribe(ws, "live", COUNT)
    first = await receive(ws)
    assert first["id"] == "live" and first["type"] == "next", first
    count: int = first["payload"]["data"]["customers"]["totalCount"]
    return count


async def next_messages(ws: ClientConnection, ids: set[str], within: float = 5) -> dict[str, dict[str, Any]]:
    """The next message of each operation in ``ids`` (its payload), pings answered; a second
    message of one of them before the others have come fails."""
    seen: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(within):
        while set(seen) != ids:
            message = await receive(ws, within)
            if message["type"] == "ping":
                await send(ws, {"type": "pong"})
                continue
            assert message["type"] == "next" and message["id"] in ids - set(seen), message
            seen[message["id"]] = message["payload"]
    return seen


async def nothing_more(ws: ClientConnection, within: float = 0.5) -> None:
    """No message (but pings) arrives within ``within`` seconds."""
    try:
        while True:
            message = await receive(ws, within)
            if message["type"] == "ping":
                await send(ws, {"type": "pong"})
                continue
            raise AssertionError(f"unexpected message {message}")
    except TimeoutError:
        return


def created_event(payload: dict[str, Any]) -> str:
    node = payload["data"]["events"]["node"]
    assert node["type"] == "customer.created", payload
    entity: str = node["entityId"]
    return entity


def total(payload: dict[str, Any]) -> int:
    count: int = payload["data"]["customers"]["totalCount"]
    return count


async def readiness(origin: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=origin, timeout=5) as http:
        body: dict[str, Any] = (await http.get("/readyz")).json()
        return body


async def eventually_ready(origin: str, *, listening: bool, within: float = 15) -> None:
    async with asyncio.timeout(within):
        while True:
            if await readiness(origin) == {"ready": True, "listening": listening}:
                return
            await asyncio.sleep(0.05)


# --- two processes on one database -------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_settings(pg_server, demo_settings: Settings) -> Iterator[Settings]:
    """A seeded database of this module's own, which both processes serve."""
    yield from _seeded_copy(pg_server, demo_settings, "bizgraph_processes")


@pytest.fixture(scope="module")
async def two_processes(shared_settings: Settings, signing_key: Path) -> AsyncIterator[tuple[ServeProcess, ...]]:
    assert shared_settings.database_url is not None
    env = serve_environment(shared_settings.database_url, signing_key)
    async with serve_process(env) as first, serve_process(env) as second:
        yield first, second


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("subscribed_on", "written_through"), [(0, 1), (1, 0)], ids=["A sees B", "B sees A"])
async def test_a_subscriber_of_one_process_sees_a_write_made_through_another(
    two_processes, shared_settings, subscribed_on, written_through
):
    subscribed, writing = two_processes[subscribed_on], two_processes[written_through]
    token = token_for_user(shared_settings, ADMIN)
    async with socket(subscribed.origin) as ws:
        # Given a live count and an event stream on one process
        await init(ws, token)
        before = await watch(ws, subscribed.origin, token)
        # When a customer is created through the other process's API
        created = await create_customer(writing.origin, token)
        # Then the first process's subscriber gets the new count and the event, once each
        seen = await next_messages(ws, {"live", "events"})
        assert total(seen["live"]) == before + 1
        assert created_event(seen["events"]) == created
        await nothing_more(ws)


# --- a PostgreSQL restart ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(demo_settings: Settings) -> Iterator[tuple[PrivateCluster, Settings]]:
    """A private PostgreSQL cluster, migrated and seeded, which the test may restart."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    from app.seed import run_seed

    with private_cluster() as private:
        upgrade(private.url)
        run_seed(private.url, scale="tiny", seed=7, reset=False, progress=False)
        yield private, replace(demo_settings, database_url=private.url)


@pytest.fixture
async def listener_proxy(cluster) -> AsyncIterator[CuttableProxy]:
    """A proxy in front of the cluster for the server's listener alone: cut, it keeps the
    listener away while the API goes on writing."""
    private, _ = cluster
    async with cuttable_proxy(private.url) as proxy:
        yield proxy


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.mark.timeout(90)
async def test_a_postgresql_restart_loses_no_change_and_restarts_nothing_of_bizgraph(
    cluster, listener_proxy, signing_key
):
    private, settings = cluster
    env = serve_environment(private.url, signing_key, BIZGRAPH_LISTEN_DATABASE_URL=_url(listener_proxy.url))
    token = token_for_user(settings, ADMIN)
    async with serve_process(env) as server, socket(server.origin) as ws:
        # Given a subscriber of a live count and of an event stream
        await init(ws, token)
        before = await watch(ws, server.origin, token)
        # When PostgreSQL restarts, with the listener kept away
        await listener_proxy.cut()
        await asyncio.to_thread(private.restart)
        await eventually_ready(server.origin, listening=False)
        # Then requests right after the restart answer, though every pooled connection died:
        # a query of a user the process never saw (whose standing it reads first), a mutation
        newcomer = token_for_user(settings, "sales@acme.example")
        assert (await graphql(server.origin, newcomer, "{ me { roles } }"))["me"]["roles"] == ["SALES"]
        missed = await create_customer(server.origin, token)
        # and, nobody listening, nobody hears of it yet
        await nothing_more(ws)
        # When the listener can reach PostgreSQL again
        await listener_proxy.restore()
        await eventually_ready(server.origin, listening=True)
        # Then the live query was read again and the stream went on from its cursor: what
        # committed while nobody listened arrives, on the same socket
        seen = await next_messages(ws, {"live", "events"})
        assert total(seen["live"]) == before + 1
        assert created_event(seen["events"]) == missed
        # And what commits afterwards arrives as usual, once
        heard = await create_customer(server.origin, token)
        seen = await next_messages(ws, {"live", "events"})
        assert total(seen["live"]) == before + 2
        assert created_event(seen["events"]) == heard
        await nothing_more(ws)
        err = await server.stopped()
    assert "Traceback" not in err and "ERROR" not in err, err


@pytest.mark.timeout(90)
async def test_a_plain_postgresql_restart_is_survived_by_the_listener_and_the_sockets(cluster, signing_key):
    private, settings = cluster
    token = token_for_user(settings, ADMIN)
    async with serve_process(serve_environment(private.url, signing_key)) as server, socket(server.origin) as ws:
        # Given a subscriber, on a server whose listener talks to PostgreSQL directly
        await init(ws, token)
        before = await watch(ws, server.origin, token)
        # When PostgreSQL restarts and a customer is created at once
        await asyncio.to_thread(private.restart)
        created = await create_customer(server.origin, token)
        # Then it arrives (heard, or read again when the listener came back), once
        seen = await next_messages(ws, {"live", "events"}, within=10)
        assert total(seen["live"]) == before + 1
        assert created_event(seen["events"]) == created
        await eventually_ready(server.origin, listening=True)
        await nothing_more(ws)
        err = await server.stopped()
    assert "Traceback" not in err and "ERROR" not in err, err
