"""Connection handling: a database restart costs no failed request; round trips stay few."""

from __future__ import annotations

import psycopg
from sqlalchemy import event

from tests.db import conninfo
from tests.support import data


def _terminate_app_connections(url) -> int:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'bizgraph' AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


async def test_requests_after_the_database_drops_every_connection_still_succeed(client, seeded_url):
    query = "{ customers(first: 3) { totalCount } }"
    await data(client, query)
    await data(client, "{ a: customers(first: 1) { totalCount } b: orders(first: 1) { totalCount } }")
    assert _terminate_app_connections(seeded_url) >= 1
    for _ in range(3):  # each pooled connection is dead; every request still answers
        assert (await data(client, query))["customers"]["totalCount"] > 0
    _terminate_app_connections(seeded_url)
    result = await data(client, "{ a: customers(first: 1) { totalCount } b: orders(first: 1) { totalCount } }")
    assert result["a"]["totalCount"] > 0 and result["b"]["totalCount"] > 0


async def test_one_root_field_needs_no_transaction_and_several_share_one(app, client):
    """The server's own transaction status after each statement (from the protocol's
    ReadyForQuery): IDLE means no transaction block was open around it."""
    engine = app.state.database.engine.sync_engine
    states: list[str] = []

    def after(conn, cursor, statement, parameters, context, executemany):
        states.append(conn.connection.dbapi_connection.info.transaction_status.name)

    event.listen(engine, "after_cursor_execute", after)
    try:
        await data(client, "{ customers(first: 1) { nodes { id } } }")
        assert states == ["IDLE"]
        states.clear()
        await data(client, "{ a: customers(first: 1) { totalCount } b: customers(first: 2) { totalCount } }")
        assert states == ["INTRANS", "INTRANS"]
    finally:
        event.remove(engine, "after_cursor_execute", after)
