"""What PostgreSQL says of a live statement (its parameters' types, the tables it reads) is
asked on pooled connections that have served requests before: psycopg's own prepared
statements on them must not get in the way, and the types must fit every execution's values."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app.db import Database, driver_connection
from resolvers.live.shapes import StatementShapes

COUNT = "SELECT json_build_object('n', count(*)) FROM orders o WHERE o.org_id = %(org)s AND o.customer_id = %(c)s"


async def test_a_connection_with_psycopgs_prepared_statements_describes_too(demo_settings: Any) -> None:
    database = Database(replace(demo_settings, pool_size=1))
    try:
        # The one pooled connection has served a statement often enough for psycopg to prepare it
        # (a ROLLBACK then makes psycopg deallocate everything prepared on the connection).
        async with database.engine.connect() as connection:
            driver = await driver_connection(connection)
            for _ in range(8):
                await driver.execute("SELECT count(*) FROM products WHERE id > %s", (0,))
        shapes = StatementShapes(database)
        first = await shapes.of(COUNT, {"org": 1, "c": 5}, 1)
        second = await shapes.of(COUNT.replace("count(*)", "max(o.id)"), {"org": 1, "c": 5}, 1)
    finally:
        await database.dispose()
    assert first.tables == second.tables == frozenset({"orders"})
    # Small values are sent as smallint; the next execution's may be far larger.
    assert first.parameter_types == second.parameter_types == {"org": "bigint", "c": "bigint"}


async def test_after_a_restart_a_statement_is_described_on_a_live_connection(demo_settings: Any) -> None:
    """Every pooled connection died (PostgreSQL restarted): each is found dead, discarded, and
    the statement described on a fresh one, not taken for one PostgreSQL cannot describe."""
    import psycopg

    from tests.support.db import conninfo

    database = Database(replace(demo_settings, pool_size=3))
    try:
        # Three connections pooled, then ended by the server as a restart would.
        connections = [await database.engine.connect() for _ in range(3)]
        pids = [(await driver_connection(c)).info.backend_pid for c in connections]
        for connection in connections:
            await connection.close()
        with psycopg.connect(conninfo(demo_settings.database_url), autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        shape = await StatementShapes(database).of(COUNT, {"org": 1, "c": 5}, 1)
    finally:
        await database.dispose()
    assert shape.parameter_types == {"org": "bigint", "c": "bigint"}
    assert shape.tables == frozenset({"orders"})
