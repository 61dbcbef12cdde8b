"""``bizgraph serve`` drained by SIGTERM under load, as an orchestrator stops it.

The load is real and slow on purpose: the test takes an exclusive lock on the customers table
from a connection of its own, so every query and mutation that touches customers waits in
PostgreSQL — queries and mutations over HTTP from several clients at once, and a mutation over a
WebSocket — until the test lets go. It sends SIGTERM while they all wait and then sees, through
the public surface only:

- ``/readyz`` answers 503 for the notice (``BIZGRAPH_DRAIN_NOTICE_SECONDS``), on new connections;
- then new connections are refused;
- every request that had started gets a complete, successful answer once the lock goes;
- the socket gets its mutation's ``next`` and ``complete``, then the close 1001 "Going away";
- the process exits 0, its pool and change listener closed, well within the deadline.

And with a short ``BIZGRAPH_DRAIN_SECONDS``: what still waits at the deadline is cut off, and the
process exits 0 all the same, while the lock is still held.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from app.config import Settings, libpq_conninfo
from tests.conftest import _seeded_copy
from tests.support.auth import bearer, token_for_user
from tests.support.serving import ServeProcess, serve_environment, serve_process, worker_pids
from tests.support.websocket_client import closed_with, eventually, init, receive, socket, subscribe

ADMIN = "admin@acme.example"
COUNT = "{ customers(first: 3) { totalCount edges { node { name } } } }"
LIVE_COUNT = "subscription { customers(first: 1) { totalCount } }"
CREATE = """mutation($name: String!) {
  createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) {
    customer { id name } errors { code }
  }
}"""
_names = itertools.count(1)


@pytest.fixture(scope="module")
def drain_settings(pg_server, demo_settings: Settings) -> Iterator[Settings]:
    yield from _seeded_copy(pg_server, demo_settings, "bizgraph_drain")


def _connect(settings: Settings) -> psycopg.Connection[Any]:
    assert settings.database_url is not None
    return psycopg.connect(libpq_conninfo(settings.database_url), autocommit=True)


@contextlib.contextmanager
def customers_locked(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """Every statement on customers waits until the block ends (or the lock is let go)."""
    with _connect(settings) as connection:
        connection.execute("BEGIN")
        connection.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        try:
            yield connection
        finally:
            if not connection.closed:
                connection.execute("ROLLBACK")


def waiting_on_locks(settings: Settings) -> int:
    with _connect(settings) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def server_connections(settings: Settings) -> int:
    """Connections to the test's database other than the test's own (the server's pools, listeners)."""
    with _connect(settings) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def post(origin: str, token: str, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    """One request on a connection of its own (as a separate client would send it)."""
    async with httpx.AsyncClient(base_url=origin, timeout=60) as http:
        return await http.post("/graphql", json={"query": query, "variables": variables}, headers=bearer(token))


async def readyz_status(origin: str) -> int | None:
    """``/readyz``'s status on a new connection; None when the connection is refused."""
    try:
        async with httpx.AsyncClient(base_url=origin, timeout=5) as http:
            return (await http.get("/readyz")).status_code
    except httpx.ConnectError:
        return None


@contextlib.asynccontextmanager
async def drained_server(
    settings: Settings, signing_key: Path, workers: int, **env: str
) -> AsyncIterator[ServeProcess]:
    assert settings.database_url is not None
    environment = serve_environment(settings.database_url, signing_key, **env)
    async with serve_process(environment, workers=workers, ready_within=40) as server:
        yield server


async def exit_status(server: ServeProcess, within: float) -> tuple[int, str, float]:
    """Waits (sending nothing more) for the process to end: its status, standard error and when."""
    _, err = await asyncio.wait_for(server.process.communicate(), within)
    assert server.process.returncode is not None
    return server.process.returncode, err.decode(), time.monotonic()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_under_load_answers_every_started_request_and_exits_0(
    drain_settings: Settings, signing_key: Path, workers: int
):
    token = token_for_user(drain_settings, ADMIN)
    notice, deadline = 2, 30
    async with drained_server(
        drain_settings,
        signing_key,
        workers,
        BIZGRAPH_DRAIN_NOTICE_SECONDS=str(notice),
        BIZGRAPH_DRAIN_SECONDS=str(deadline),
    ) as server:
        if workers > 1:
            await eventually(lambda: len(worker_pids(server.process.pid)) == workers, 30)
        async with socket(server.origin) as ws:
            await init(ws, token)
            await subscribe(ws, "live", LIVE_COUNT)
            assert (await receive(ws))["type"] == "next"

            with customers_locked(drain_settings) as lock:
                # Given queries and mutations from several clients, and one over the socket,
                # all started and waiting in PostgreSQL
                queries = [asyncio.create_task(post(server.origin, token, COUNT)) for _ in range(4)]
                names = [f"Drain Test {next(_names)} GmbH" for _ in range(4)]
                mutations = [asyncio.create_task(post(server.origin, token, CREATE, {"name": n})) for n in names]
                over_socket = f"Drain Socket {next(_names)} GmbH"
                await subscribe(ws, "m", CREATE, {"name": over_socket})
                await eventually(lambda: waiting_on_locks(drain_settings) >= 9, 20)

                # When the server is told to stop
                server.process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()

                # Then /readyz answers 503 for the notice (from the moment the server looks
                # for the signal, every 0.1 s), while the requests are still waiting
                statuses: list[tuple[float, int]] = []
                while (status := await readyz_status(server.origin)) is not None:
                    statuses.append((time.monotonic() - signalled, status))
                    assert time.monotonic() - signalled < notice + 5, statuses
                    await asyncio.sleep(0.1)
                refused_after = time.monotonic() - signalled
                first_503 = next(index for index, (_, status) in enumerate(statuses) if status == 503)
                assert statuses[first_503][0] < 0.5, statuses
                assert {status for _, status in statuses[first_503:]} == {503}, statuses
                assert notice - 0.5 <= refused_after <= notice + 5, refused_after
                # and once the notice is over new connections are refused (and stay so)
                for _ in range(5):
                    assert await readyz_status(server.origin) is None
                    await asyncio.sleep(0.05)
                assert not any(task.done() for task in queries + mutations), "answered before the lock went"
                assert server.process.returncode is None

                # When what they wait for is let go
                lock.execute("ROLLBACK")

            # Then every request that had started is answered in full
            for response in await asyncio.gather(*queries):
                assert response.status_code == 200, response.text
                body = response.json()
                assert "errors" not in body, body
                assert len(body["data"]["customers"]["edges"]) == 3
            for name, response in zip(names, await asyncio.gather(*mutations), strict=True):
                assert response.status_code == 200, response.text
                created = response.json()["data"]["createCustomer"]
                assert created["errors"] == [] and created["customer"]["name"] == name
            # and the socket gets its mutation's answer, then the close "going away"
            code, reason, before_close = await closed_with(ws, within=15)
            mine = [message for message in before_close if message.get("id") == "m"]
            assert [message["type"] for message in mine] == ["next", "complete"], before_close
            assert mine[0]["payload"]["data"]["createCustomer"]["customer"]["name"] == over_socket
            assert (code, reason) == (1001, "Going away")

        # And the process exits 0 within the deadline, its pool and listener closed
        status, err, ended = await exit_status(server, within=deadline + notice)
        assert status == 0, err
        assert ended - signalled < notice + deadline
        assert "Traceback" not in err and "ERROR" not in err, err
        assert server_connections(drain_settings) == 0
    # Everything written while draining is there.
    with _connect(drain_settings) as connection:
        stored = connection.execute("SELECT count(*) FROM customers WHERE name = ANY(%s)", ([*names, over_socket],))
        row = stored.fetchone()
    assert row is not None and row[0] == 5


@pytest.mark.timeout(90)
async def test_a_request_running_past_the_deadline_is_cut_off_and_the_process_still_exits(
    drain_settings: Settings, signing_key: Path
):
    token = token_for_user(drain_settings, ADMIN)
    deadline = 2
    async with drained_server(drain_settings, signing_key, 1, BIZGRAPH_DRAIN_SECONDS=str(deadline)) as server:
        async with socket(server.origin) as ws:
            await init(ws, token)
            with customers_locked(drain_settings):
                # Given a query and a mutation over the socket waiting on a lock that stays held
                query = asyncio.create_task(post(server.origin, token, COUNT))
                cut_off = f"Cut Off {next(_names)} GmbH"
                await subscribe(ws, "m", CREATE, {"name": cut_off})
                await eventually(lambda: waiting_on_locks(drain_settings) >= 2, 20)

                # When the server is told to stop (no notice: the port closes at once)
                server.process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                # (uvicorn looks for the signal every 0.1 s)
                while await readyz_status(server.origin) is not None:
                    assert time.monotonic() - signalled < 1, "still accepting a second after SIGTERM"
                    await asyncio.sleep(0.02)

                # Then the socket closes going away once the deadline has passed, its mutation unanswered
                code, reason, before_close = await closed_with(ws, within=deadline + 10)
                assert (code, reason) == (1001, "Going away")
                assert [message for message in before_close if message.get("id") == "m"] == []
                assert time.monotonic() - signalled >= deadline - 0.5

                # and the process exits 0, the lock still held: the query was cut off
                status, err, ended = await exit_status(server, within=deadline + 15)
                assert status == 0, err
                assert ended - signalled < deadline + 10
                assert "Traceback" not in err, err
                # The query that was cut off is answered 503 SHUTTING_DOWN
                response = await asyncio.wait_for(query, 5)
                assert response.status_code == 503, response.text
                assert response.json()["errors"][0]["extensions"]["code"] == "SHUTTING_DOWN"
                assert response.headers["retry-after"] == "1"

        # And the mutation cut off on the socket was not applied (its transaction never committed)
        await eventually(lambda: server_connections(drain_settings) == 0, 10)
        with _connect(drain_settings) as connection:
            row = connection.execute("SELECT count(*) FROM customers WHERE name = %s", (cut_off,)).fetchone()
        assert row is not None and row[0] == 0


@pytest.mark.timeout(90)
async def test_a_second_sigterm_cuts_the_drain_short(drain_settings: Settings, signing_key: Path):
    token = token_for_user(drain_settings, ADMIN)
    notice, deadline = 20, 30
    env = {"BIZGRAPH_DRAIN_NOTICE_SECONDS": str(notice), "BIZGRAPH_DRAIN_SECONDS": str(deadline)}
    async with drained_server(drain_settings, signing_key, 1, **env) as server, socket(server.origin) as ws:
        await init(ws, token)
        with customers_locked(drain_settings):
            # Given a mutation over the socket that waits on a lock that stays held
            await subscribe(ws, "m", CREATE, {"name": f"Second Signal {next(_names)} GmbH"})
            await eventually(lambda: waiting_on_locks(drain_settings) >= 1, 20)
            # When the server is told to stop, and told again while it drains
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            assert await readyz_status(server.origin) == 503
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            # Then it waits neither for the notice nor for the deadline: the socket closes
            # going away, and the process exits 0 at once
            code, _, _ = await closed_with(ws, within=10)
            assert code == 1001
            status, err, ended = await exit_status(server, within=15)
            assert status == 0, err
            assert ended - signalled < 10
            assert "Traceback" not in err, err
