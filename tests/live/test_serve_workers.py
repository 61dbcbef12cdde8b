"""``bizgraph serve --workers 2``: two processes on one port, each with its own pool and its own
change listener. Which worker takes a new connection is the kernel's choice; the test makes the
choice for it by stopping (SIGSTOP) the other worker for a moment, so a stopped worker cannot
accept and every new connection goes to the one that runs.

So: each worker answers on the shared port; a subscriber on one worker sees a write made through
the other; and SIGTERM to the supervisor drains both (their sockets close with 1001 "Going
away") before everything exits without an error."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.config import Settings, libpq_conninfo
from tests.conftest import _seeded_copy
from tests.live.test_live_processes import ADMIN, create_customer, graphql, next_messages, total
from tests.support.auth import token_for_user
from tests.support.serving import BIZGRAPH, free_port, serve_environment, serve_process, worker_pids
from tests.support.websocket_client import closed_with, eventually, init, receive, socket, subscribe

COUNT = "subscription { customers(first: 1) { totalCount } }"


@pytest.fixture(scope="module")
def workers_settings(pg_server, demo_settings: Settings) -> Iterator[Settings]:
    yield from _seeded_copy(pg_server, demo_settings, "bizgraph_workers")


def listeners(settings: Settings) -> int:
    """The change listeners connected to the test's database (one per worker)."""
    assert settings.database_url is not None
    with psycopg.connect(libpq_conninfo(settings.database_url), autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'bizgraph-listener'"
        ).fetchone()
    assert row is not None
    return int(row[0])


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """The worker ``pid`` stopped: it accepts no connection until the block ends."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.mark.timeout(90)
async def test_two_workers_share_a_port_hear_each_others_writes_and_drain_together(
    workers_settings: Settings, signing_key: Path
):
    assert workers_settings.database_url is not None
    token = token_for_user(workers_settings, ADMIN)
    env = serve_environment(workers_settings.database_url, signing_key)
    async with serve_process(env, workers=2, ready_within=40) as server:
        # Given two workers, each listening for changes on a connection of its own
        await eventually(lambda: len(worker_pids(server.process.pid)) == 2 and listeners(workers_settings) == 2, 30)
        first, second = worker_pids(server.process.pid)

        async with contextlib.AsyncExitStack() as sockets:
            # When a subscriber connects while only the first worker runs
            with paused(second):
                on_first = await sockets.enter_async_context(socket(server.origin))
                await init(on_first, token)
                await subscribe(on_first, "live", COUNT)
                before = total((await receive(on_first))["payload"])
                # (the first worker answers queries too)
                assert "customers" in await graphql(server.origin, token, "{ customers(first: 1) { totalCount } }")

            # and a customer is created through the second worker alone
            with paused(first):
                assert await create_customer(server.origin, token)
                on_second = await sockets.enter_async_context(socket(server.origin))
                await init(on_second, token)
                await subscribe(on_second, "live", COUNT)
                assert total((await receive(on_second))["payload"]) == before + 1

            # Then the first worker's subscriber sees the write made through the second
            seen = await next_messages(on_first, {"live"}, within=10)
            assert total(seen["live"]) == before + 1

            # When the supervisor is told to stop
            server.process.send_signal(signal.SIGTERM)
            # Then both workers drain: each socket closes going away
            closings = await asyncio.gather(closed_with(on_first, within=15), closed_with(on_second, within=15))
            assert [(code, reason) for code, reason, _ in closings] == [(1001, "Going away")] * 2
        err = await server.stopped(within=30)
    assert server.process.returncode == 0, err
    assert worker_pids(server.process.pid) == []
    assert "Traceback" not in err and "ERROR" not in err, err
    assert not any(alive(pid) for pid in (first, second))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(90)
async def test_workers_that_cannot_start_stop_the_server_with_status_3(fresh_database, signing_key: Path):
    # Given a database bizgraph was never migrated into: every worker's start-up fails
    env = serve_environment(fresh_database(), signing_key)
    process = await asyncio.create_subprocess_exec(
        BIZGRAPH,
        "serve",
        "--port",
        str(free_port()),
        "--workers",
        "2",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    # Then the supervisor does not restart them for ever: it stops, saying so
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 3, err.decode()
    assert "could not start" in err.decode()
