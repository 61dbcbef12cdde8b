"""One exchange of a read's statements (resolvers/wire.py): everything in one round trip, texts
seen again prepared on the server and reused, never behind a pooler's setting, a failure
raised by SQLSTATE with the connection left usable and nothing stale kept by name."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
import pytest

from resolvers import wire
from resolvers.wire import Statement, exchange
from tests.support.db import conninfo

ECHO = "SELECT %(number)s::int * 2, %(label)s::text || '%%'"


async def _connect(seeded_url) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(conninfo(seeded_url), autocommit=True)


async def _prepared(connection: psycopg.AsyncConnection[Any]) -> dict[str, str]:
    cursor = await connection.execute("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'bizgraph_%'")
    return dict(await cursor.fetchall())


def test_named_and_positional_placeholders_become_numbered_ones():
    shape = wire.converted("SELECT %(a)s, %(b)s, %(a)s, '100%%'")
    assert shape.query == b"SELECT $1, $2, $1, '100%'"
    assert shape.names == ("a", "b")
    assert wire.positional("SELECT set_config('x', %s, true), %s, '%%'") == b"SELECT set_config('x', $1, true), $2, '%'"


async def test_a_text_seen_again_is_prepared_once_and_then_executed_by_name(seeded_url):
    connection = await _connect(seeded_url)
    try:
        first = await exchange(connection, [Statement(ECHO, {"number": 1, "label": "a"})], prepare=True)
        assert first == [(2, "a%")]
        assert await _prepared(connection) == {}  # seen once: a one-off text is never prepared
        second = await exchange(connection, [Statement(ECHO, {"number": 2, "label": "b"})], prepare=True)
        assert second == [(4, "b%")]
        prepared = await _prepared(connection)
        assert list(prepared.values()) == ["SELECT $1::int * 2, $2::text || '%'"]
        for number in range(3, 6):
            rows = await exchange(connection, [Statement(ECHO, {"number": number, "label": "c"})], prepare=True)
            assert rows == [(number * 2, "c%")]
        assert await _prepared(connection) == prepared  # reused by name, never prepared again
    finally:
        await connection.close()


async def test_without_preparing_nothing_is_left_on_the_server(seeded_url):
    connection = await _connect(seeded_url)
    try:
        for number in range(4):
            rows = await exchange(connection, [Statement(ECHO, {"number": number, "label": "x"})], prepare=False)
            assert rows == [(number * 2, "x%")]
        assert await _prepared(connection) == {}
    finally:
        await connection.close()


async def test_the_prelude_and_the_statement_share_one_transaction(seeded_url):
    connection = await _connect(seeded_url)
    try:
        rows = await exchange(
            connection,
            [
                Statement("SELECT set_config('bizgraph.org_id', %s, true)", ("42",)),
                Statement("SELECT current_setting('bizgraph.org_id')"),
            ],
            prepare=True,
        )
        assert rows == [("42",)]
        # LOCAL: it ended with the exchange's implicit transaction.
        cursor = await connection.execute("SELECT current_setting('bizgraph.org_id', true)")
        assert await cursor.fetchone() in ((None,), ("",))
    finally:
        await connection.close()


async def test_a_failure_raises_its_sqlstate_and_leaves_the_connection_usable(seeded_url):
    connection = await _connect(seeded_url)
    try:
        division = "SELECT 1 / %(zero)s::int"
        for _ in range(3):
            with pytest.raises(psycopg.errors.DivisionByZero):
                await exchange(connection, [Statement(division, {"zero": 0})], prepare=True)
            assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        # What was prepared before a failure is forgotten and closed: nothing stale by name.
        assert await _prepared(connection) == {}
        assert await exchange(connection, [Statement(division, {"zero": 1})], prepare=True) == [(1,)]
        # A text that fails to prepare (a syntax error) fails every time, cleanly.
        for _ in range(3):
            with pytest.raises(psycopg.errors.SyntaxError):
                await exchange(connection, [Statement("SELEC %(x)s", {"x": 1})], prepare=True)
        assert await exchange(connection, [Statement(ECHO, {"number": 7, "label": "ok"})], prepare=True) == [
            (14, "ok%")
        ]
    finally:
        await connection.close()


async def test_a_value_that_cannot_be_sent_fails_before_anything_is_sent(seeded_url):
    connection = await _connect(seeded_url)
    try:
        with pytest.raises(psycopg.ProgrammingError):
            await exchange(connection, [Statement("SELECT %(x)s", {"x": object()})], prepare=True)
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert await exchange(connection, [Statement("SELECT 1")], prepare=True) == [(1,)]
    finally:
        await connection.close()


async def test_the_least_recently_used_statement_is_closed_past_the_bound(seeded_url, monkeypatch):
    monkeypatch.setattr(wire, "MAX_PREPARED", 2)
    connection = await _connect(seeded_url)
    try:
        texts = [f"SELECT %(n)s::int + {offset}" for offset in range(3)]
        for text in texts:
            for n in range(2):  # the second run prepares it
                assert await exchange(connection, [Statement(text, {"n": n})], prepare=True) == [
                    (n + texts.index(text),)
                ]
        # The third text pushed the first out; its server copy is closed with the next exchange.
        assert await exchange(connection, [Statement(texts[2], {"n": 5})], prepare=True) == [(7,)]
        statements = sorted((await _prepared(connection)).values())
        assert statements == ["SELECT $1::int + 1", "SELECT $1::int + 2"]
    finally:
        await connection.close()


async def test_a_cancelled_exchange_is_cancelled_in_the_server_and_leaves_the_connection_fit(seeded_url):
    connection = await _connect(seeded_url)
    try:
        sleeping = asyncio.create_task(
            exchange(
                connection,
                [Statement("SELECT set_config('bizgraph.org_id', %s, true)", ("1",)), Statement("SELECT pg_sleep(5)")],
                prepare=True,
            )
        )
        await asyncio.sleep(0.3)  # the statement is running in the server
        started = time.perf_counter()
        sleeping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sleeping
        assert time.perf_counter() - started < 2  # cancelled there, not waited out
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert connection.pgconn.pipeline_status == psycopg.pq.PipelineStatus.OFF
        assert await exchange(connection, [Statement("SELECT 1")], prepare=True) == [(1,)]
    finally:
        await connection.close()
