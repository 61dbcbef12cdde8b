"""Read replicas (``BIZGRAPH_REPLICA_URLS``) with a real streaming replica: a private primary
cluster and a standby made from it with ``pg_basebackup``, over loopback.

Where a query was answered is told by what it saw: with the replica's replay paused, a change
written straight into the primary (as its owner, outside bizgraph) is on the primary only, so an
answer without it came from the replica, and one with it from the primary. So:

- queries read from the replica; a client that just wrote reads its write (from the primary
  while the replica has not replayed it, from the replica once it has), whether it sends the
  position back as the header or as the cookie;
- a replica lagging past ``BIZGRAPH_REPLICA_MAX_LAG_MS`` is skipped, and used again once it has
  caught up;
- a replica that is stopped is skipped at once, without a failed request, and used again once
  it is back;
- live queries re-run on the replica (its statement log shows them), and still see every change
  when the replica lags (they read from the primary then)."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest

from app.config import Settings, libpq_conninfo
from app.migrations import upgrade
from app.replicas import format_lsn, parse_lsn
from resolvers.planner.ids import decode_id
from tests.support.auth import bearer, token_for_user
from tests.support.private_postgres import PrivateCluster, missing_reason, private_cluster
from tests.support.websocket_client import LiveServer, answers, init, live_server, receive, socket, subscribe

MAX_LAG_MS = 1500
CHECK_MS = 50
FIRST = "{ customers(first: 1) { edges { node { id name version } } } }"
NAME = "query($id: ID!) { node(id: $id) { ... on Customer { name } } }"
LIVE_NAME = "subscription($id: ID!) { node(id: $id) { ... on Customer { name } } }"
RENAME = """mutation($id: ID!, $version: Int!, $name: String!) {
  updateCustomer(input: {id: $id, version: $version, name: $name}) { customer { name version } errors { code } }
}"""
_names = itertools.count(1)


@pytest.fixture(scope="module")
def clusters() -> Iterator[tuple[PrivateCluster, PrivateCluster]]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    from app.seed import run_seed

    with private_cluster() as primary:
        upgrade(primary.url)
        run_seed(primary.url, scale="tiny", seed=7, reset=False, progress=False)
        with private_cluster(standby_of=primary, log_statements=True) as standby:
            yield primary, standby


@pytest.fixture(scope="module")
def settings(clusters, demo_settings: Settings) -> Settings:
    primary, standby = clusters
    return replace(
        demo_settings,
        database_url=primary.url,
        replica_urls=(standby.url,),
        replica_max_lag_ms=MAX_LAG_MS,
        replica_check_ms=CHECK_MS,
        # Both clusters allow 20 connections.
        pool_size=4,
    )


@pytest.fixture(scope="module")
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with live_server(settings) as served:
        yield served


@pytest.fixture(scope="module")
def token(settings: Settings) -> str:
    return token_for_user(settings, "admin@acme.example")


def run(cluster: PrivateCluster, statement: str, *params: Any) -> Any:
    """One statement as the cluster's owner; the first column of its first row."""
    with psycopg.connect(libpq_conninfo(cluster.url), autocommit=True) as connection:
        cursor = connection.execute(statement, params)
        row = cursor.fetchone() if cursor.description else None
    return row[0] if row else None


def replayed(standby: PrivateCluster) -> int:
    position = parse_lsn(run(standby, "SELECT pg_last_wal_replay_lsn()::text"))
    assert position is not None
    return position


async def caught_up(primary: PrivateCluster, standby: PrivateCluster) -> None:
    """Waits until the standby has replayed all the primary has written, and the server checked it."""
    target = parse_lsn(run(primary, "SELECT pg_current_wal_lsn()::text"))
    assert target is not None
    await until(lambda: replayed(standby) >= target, within=10)
    await asyncio.sleep(4 * CHECK_MS / 1000)


async def until(condition: Callable[[], Any], *, within: float) -> None:
    """Polls ``condition`` (a function, or one returning an awaitable) until it holds."""
    deadline = time.monotonic() + within
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        assert time.monotonic() < deadline, f"still not true after {within} s"
        await asyncio.sleep(0.02)


class Customer:
    def __init__(self, server: LiveServer, token: str, global_id: str, version: int) -> None:
        self.server, self.token, self.id, self.version = server, token, global_id, version

    async def name(self, http: httpx.AsyncClient | None = None, **headers: str) -> str:
        client = http or self.server.client
        response = await client.post(
            "/graphql", json={"query": NAME, "variables": {"id": self.id}}, headers={**bearer(self.token), **headers}
        )
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        name: str = body["data"]["node"]["name"]
        return name

    async def rename(self, name: str, http: httpx.AsyncClient | None = None) -> httpx.Response:
        client = http or self.server.client
        variables = {"id": self.id, "version": self.version, "name": name}
        response = await client.post(
            "/graphql", json={"query": RENAME, "variables": variables}, headers=bearer(self.token)
        )
        payload = response.json()["data"]["updateCustomer"]
        assert payload["errors"] == [] and payload["customer"]["name"] == name, payload
        self.version = payload["customer"]["version"]
        return response


@pytest.fixture
async def customer(server: LiveServer, token: str, clusters) -> Customer:
    primary, standby = clusters
    await caught_up(primary, standby)
    response = await server.client.post("/graphql", json={"query": FIRST}, headers=bearer(token))
    node = response.json()["data"]["customers"]["edges"][0]["node"]
    return Customer(server, token, node["id"], node["version"])


def write_directly(primary: PrivateCluster, customer: Customer, name: str) -> None:
    """A change made on the primary outside bizgraph (its owner, bypassing row-level security)."""
    _, pk = decode_id(customer.id, "Customer")
    run(primary, "UPDATE customers SET name = %s WHERE id = %s", name, pk)


class Paused:
    """The standby's replay paused until the block ends (``pg_wal_replay_pause``)."""

    def __init__(self, standby: PrivateCluster) -> None:
        self.standby = standby

    def __enter__(self) -> None:
        run(self.standby, "SELECT pg_wal_replay_pause()")

    def __exit__(self, *exc: object) -> None:
        run(self.standby, "SELECT pg_wal_replay_resume()")


async def test_queries_read_from_the_replica_and_a_writer_reads_its_own_write(clusters, server, customer):
    primary, standby = clusters
    before = await customer.name()
    with Paused(standby):
        # Given a change on the primary that the paused replica has not replayed
        write_directly(primary, customer, f"Written Directly {next(_names)}")
        # Then a query answers without it: the replica answered
        assert await customer.name() == before

        # When a client renames the customer through the API
        mine = f"Renamed By Me {next(_names)}"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=server.app), base_url="http://bizgraph.test"
        ) as browser:
            answer = await customer.rename(mine, browser)
            position = answer.headers["bizgraph-write-position"]
            assert parse_lsn(position) is not None and browser.cookies["bizgraph_write_position"].strip('"') == position
            assert "HttpOnly" in answer.headers["set-cookie"]
            # Then it reads its write, sending the position back as the header or (a browser) the cookie
            assert await customer.name(**{"Bizgraph-Read-After": position}) == mine
            assert await customer.name(browser) == mine
        # and a client that did not write still reads from the replica
        assert await customer.name() == before
    # When the replica has replayed past the write
    await caught_up(primary, standby)
    with Paused(standby):
        write_directly(primary, customer, f"Written Directly {next(_names)}")
        # Then the writer reads from the replica again (its write, without the later change)
        assert await customer.name(**{"Bizgraph-Read-After": position}) == mine


async def test_a_malformed_position_is_a_bad_request(server, customer):
    response = await server.client.post(
        "/graphql",
        json={"query": NAME, "variables": {"id": customer.id}},
        headers={**bearer(customer.token), "Bizgraph-Read-After": "yesterday"},
    )
    assert response.status_code == 400
    assert "Bizgraph-Read-After" in response.text and "Traceback" not in response.text


async def test_a_replica_lagging_past_the_bound_is_skipped_until_it_catches_up(clusters, server, customer):
    primary, standby = clusters
    before = await customer.name()
    with Paused(standby):
        changed = f"Written Directly {next(_names)}"
        write_directly(primary, customer, changed)
        written_at = time.monotonic()
        assert await customer.name() == before

        # Then once the replica lags past the bound, queries read from the primary
        async def primary_answers() -> bool:
            return await customer.name() == changed

        await until(primary_answers, within=10)
        waited_ms = (time.monotonic() - written_at) * 1000
        assert MAX_LAG_MS - 3 * CHECK_MS <= waited_ms <= MAX_LAG_MS + 2000, waited_ms
    # and once it has caught up, from the replica again
    await caught_up(primary, standby)
    with Paused(standby):
        write_directly(primary, customer, f"Written Directly {next(_names)}")
        assert await customer.name() == changed


async def test_a_stopped_replica_is_skipped_without_a_failed_request_and_used_again_when_back(
    clusters, server, customer
):
    primary, standby = clusters
    current = await customer.name()
    standby.stop()
    try:
        # Right away (before any check noticed) and afterwards, queries answer from the primary
        for _ in range(20):
            assert await customer.name() == current
            await asyncio.sleep(CHECK_MS / 1000 / 2)
        changed = f"Written Directly {next(_names)}"
        write_directly(primary, customer, changed)
        assert await customer.name() == changed
    finally:
        standby.start()
    await caught_up(primary, standby)
    with Paused(standby):
        write_directly(primary, customer, f"Written Directly {next(_names)}")
        assert await customer.name() == changed


async def test_live_queries_re_run_on_the_replica_and_see_every_change(clusters, server, customer):
    _, standby = clusters
    async with socket(server.origin) as ws:
        await init(ws, customer.token)
        await subscribe(ws, "live", LIVE_NAME, {"id": customer.id})
        first = await receive(ws)
        assert first["type"] == "next", first
        logged = len(standby.log_text())

        # When the customer is renamed through the API
        renamed = f"Renamed Live {next(_names)}"
        await customer.rename(renamed)
        # Then the subscriber gets the new name, read on the replica
        message = await receive(ws, within=10)
        assert message["payload"]["data"]["node"]["name"] == renamed
        assert "customers" in standby.log_text()[logged:]

        # And while the replica lags, the re-run reads from the primary: nothing is missed
        with Paused(standby):
            lagging = f"Renamed While Lagging {next(_names)}"
            await customer.rename(lagging)
            message = await receive(ws, within=10)
            assert message["payload"]["data"]["node"]["name"] == lagging


async def test_a_socket_that_wrote_reads_its_own_write(clusters, server, customer):
    primary, standby = clusters
    before = await customer.name()

    async def over(ws: Any, operation_id: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        await subscribe(ws, operation_id, query, variables)
        messages = await answers(ws, operation_id)
        assert [m["type"] for m in messages] == ["next", "complete"], messages
        data: dict[str, Any] = messages[0]["payload"]["data"]
        return data

    async with socket(server.origin) as writer, socket(server.origin) as reader:
        await init(writer, customer.token)
        await init(reader, customer.token)
        with Paused(standby):
            write_directly(primary, customer, f"Written Directly {next(_names)}")
            # When a socket renames the customer (a mutation over graphql-transport-ws)
            mine = f"Renamed Over A Socket {next(_names)}"
            variables = {"id": customer.id, "version": customer.version, "name": mine}
            renamed = await over(writer, "rename", RENAME, variables)
            assert renamed["updateCustomer"]["errors"] == []
            customer.version = renamed["updateCustomer"]["customer"]["version"]
            # Then its own later queries read the write; another socket's still read the replica
            assert (await over(writer, "mine", NAME, {"id": customer.id}))["node"]["name"] == mine
            assert (await over(reader, "theirs", NAME, {"id": customer.id}))["node"]["name"] == before


@pytest.mark.parametrize("text", ["0/0", "0/3000060", "16/B374D848", "FFFFFFFF/FFFFFFFF"])
def test_wal_positions_read_back_as_postgresql_spells_them(text):
    position = parse_lsn(text)
    assert position is not None and format_lsn(position) == text


@pytest.mark.parametrize("text", ["", "yesterday", "0/", "/1", "1/2/3", "G/1", "123456789/0", "-1/0"])
def test_what_is_not_a_wal_position_is_none(text):
    assert parse_lsn(text) is None


def test_positions_order_as_the_wal_does():
    assert parse_lsn("0/FFFFFFFF") < parse_lsn("1/0") < parse_lsn("1/1")  # type: ignore[operator]
