"""The pool requests' read transactions take their connections from (app/connection_pool.py):
first come, first served; a database that is down fails the caller at once; nothing handed
over is lost to a cancelled waiter; a connection in an unknown state is never reused."""

from __future__ import annotations

import asyncio
import socket
import time

import psycopg
import pytest

from app.connection_pool import ConnectionPool, PoolClosed, PoolTimeout
from tests.support.db import conninfo


def _pool(seeded_url, size: int, timeout: float = 5.0) -> ConnectionPool:
    return ConnectionPool({"conninfo": conninfo(seeded_url)}, size=size, timeout=timeout)


async def _backend_pid(connection: psycopg.AsyncConnection) -> int:
    cursor = await connection.execute("SELECT pg_backend_pid()")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def test_waiters_are_served_in_arrival_order(seeded_url):
    pool = _pool(seeded_url, size=1)
    try:
        held = await pool.acquire()
        served: list[int] = []

        async def waiter(number: int) -> None:
            connection = await pool.acquire()
            served.append(number)
            await asyncio.sleep(0.01)  # hold it a moment: later arrivals queue behind
            await pool.release(connection)

        tasks = []
        for number in range(6):
            tasks.append(asyncio.create_task(waiter(number)))
            await asyncio.sleep(0.01)  # arrive one after another
        assert pool.stats.waiting == 6
        await pool.release(held)
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert served == list(range(6))
        # One connection served all seven: handed over, never reopened.
        assert pool.stats.opened == 1 and pool.stats.in_use == 0 and pool.stats.checkouts == 7
    finally:
        await pool.close()


async def test_a_full_pool_times_out_with_a_database_error(seeded_url):
    pool = _pool(seeded_url, size=1, timeout=0.3)
    try:
        held = await pool.acquire()
        started = time.perf_counter()
        with pytest.raises(PoolTimeout) as refused:
            await pool.acquire()
        assert 0.25 < time.perf_counter() - started < 2
        # A driver OperationalError: the API answers DATABASE_UNAVAILABLE (app/errors.py).
        assert isinstance(refused.value, psycopg.OperationalError)
        assert pool.stats.waiting == 0
        await pool.release(held)
        await pool.release(await pool.acquire())  # the pool still works
    finally:
        await pool.close()


async def test_each_waiter_times_out_at_its_own_deadline_and_a_served_one_never(seeded_url):
    # One timer serves every waiter's deadline: staggered waiters still give up each on time,
    # a cancelled one leaves the queue, and one handed a connection is never refused after.
    pool = _pool(seeded_url, size=1, timeout=0.4)
    try:
        held = await pool.acquire()
        started = time.perf_counter()
        ended: dict[str, float] = {}

        async def wait(name: str) -> None:
            with pytest.raises(PoolTimeout):
                await pool.acquire()
            ended[name] = time.perf_counter() - started

        first = asyncio.create_task(wait("first"))
        await asyncio.sleep(0.15)
        cancelled = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.05)
        second = asyncio.create_task(wait("second"))
        await asyncio.sleep(0.05)
        cancelled.cancel()
        await asyncio.gather(first, second)
        assert 0.35 < ended["first"] < 0.55
        assert 0.55 < ended["second"] < 0.8
        assert pool.stats.waiting == 0
        served = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.1)
        await pool.release(held)
        connection = await served
        await asyncio.sleep(0.5)  # past its deadline: it holds its connection all the same
        assert pool.stats.in_use == 1
        await pool.release(connection)
    finally:
        await pool.close()


async def test_an_unreachable_database_fails_the_caller_at_once_and_frees_the_slot():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool = ConnectionPool({"conninfo": f"host=127.0.0.1 port={port} user=postgres connect_timeout=2"}, size=1)
    try:
        for _ in range(2):  # the failed attempt gave its slot back: the second tries too
            started = time.perf_counter()
            with pytest.raises(psycopg.OperationalError):
                await pool.acquire()
            assert time.perf_counter() - started < 1.5
        assert pool.stats.opened == 0 and pool.stats.in_use == 0
    finally:
        await pool.close()


async def test_a_connection_left_in_a_transaction_or_broken_is_not_reused(seeded_url):
    pool = _pool(seeded_url, size=1)
    try:
        connection = await pool.acquire()
        first = await _backend_pid(connection)
        await connection.execute("BEGIN")
        await pool.release(connection)  # inside a transaction: closed, not pooled
        assert connection.closed and pool.stats.discards == 1
        connection = await pool.acquire()
        second = await _backend_pid(connection)
        assert second != first
        # Killed by the server: found broken on its next statement, then given back.
        with psycopg.connect(conninfo(seeded_url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (second,))
        with pytest.raises(psycopg.OperationalError):
            await connection.execute("SELECT 1")
        await pool.release(connection)
        assert pool.stats.discards == 2 and pool.stats.opened == 0
        connection = await pool.acquire()
        assert await _backend_pid(connection) not in (first, second)
        await pool.release(connection)
        # A healthy, idle one is kept: the same backend answers next time.
        kept = await pool.acquire()
        assert await _backend_pid(kept) == await _backend_pid(connection) and pool.stats.returns == 1
        await pool.release(kept)
    finally:
        await pool.close()


async def test_a_waiter_cancelled_as_a_connection_reaches_it_does_not_lose_it(seeded_url):
    pool = _pool(seeded_url, size=1)
    try:
        held = await pool.acquire()
        waiting = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.05)
        await pool.release(held)  # handed to the waiter, which is cancelled before it runs
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert pool.stats.in_use == 0 and pool.stats.opened == 1
        again = await asyncio.wait_for(pool.acquire(), 1)
        await pool.release(again)
    finally:
        await pool.close()


async def test_closing_refuses_waiters_and_closes_connections_as_they_come_back(seeded_url):
    pool = _pool(seeded_url, size=1)
    held = await pool.acquire()
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.05)
    await pool.close()
    with pytest.raises(PoolClosed):
        await waiting
    await pool.release(held)
    assert held.closed and pool.stats.opened == 0
    with pytest.raises(PoolClosed):
        await pool.acquire()


async def test_a_refused_connection_waits_for_one_of_the_pool_s_own(seeded_url, monkeypatch):
    """PostgreSQL refusing one more connection (max_connections reached by other clients)
    while the pool holds others: the request waits for one of those instead of failing."""
    pool = _pool(seeded_url, size=3, timeout=5)
    try:
        held = await pool.acquire()
        real_connect = psycopg.AsyncConnection.connect

        async def refused(*args, **kwargs):
            raise psycopg.OperationalError("FATAL:  sorry, too many clients already")

        monkeypatch.setattr(psycopg.AsyncConnection, "connect", refused)
        waiting = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.1)
        assert not waiting.done() and pool.stats.waiting == 1 and pool.stats.opened == 1
        await pool.release(held)  # handed straight to the waiter
        assert await asyncio.wait_for(waiting, 2) is held
        # With none of its own left to wait for, the refusal is the request's error.
        await pool.discard(held)
        with pytest.raises(psycopg.OperationalError, match="too many clients"):
            await pool.acquire()
        monkeypatch.setattr(psycopg.AsyncConnection, "connect", real_connect)
        await pool.release(await pool.acquire())  # and it recovers by itself
    finally:
        await pool.close()
