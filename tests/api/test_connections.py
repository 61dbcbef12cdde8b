"""Connection handling: a database restart costs no failed request; round trips stay few;
every transaction carries its organization and none outlives its request."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import event

from app.config import Settings
from app.db import Database
from resolvers.transaction import Mode, RequestTransaction
from tests.support.db import terminate_app_connections
from tests.support.graphql import count_statements, data, sql
from tests.support.wire import counting_proxy

ACME, GLOBEX = 1, 2
# No organization filter of its own: what it sees is what row-level security lets through.
VISIBLE = "SELECT json_build_object('orgs', array_agg(DISTINCT org_id), 'rows', count(*)) FROM customers"


async def test_requests_after_the_database_drops_every_connection_still_succeed(app, client, seeded_url):
    query = "{ customers(first: 3) { totalCount } }"
    await data(client, query)
    await data(client, "{ a: customers(first: 1) { totalCount } b: orders(first: 1) { totalCount } }")
    try:
        assert terminate_app_connections(seeded_url) >= 1
        for _ in range(3):  # each pooled connection is dead; every request still answers
            assert (await data(client, query))["customers"]["totalCount"] > 0
        terminate_app_connections(seeded_url)
        result = await data(client, "{ a: customers(first: 1) { totalCount } b: orders(first: 1) { totalCount } }")
        assert result["a"]["totalCount"] > 0 and result["b"]["totalCount"] > 0
    finally:
        # The engine's pool (writes, look-ups) was terminated too, and requests' reads no longer
        # take from it to find that out: later tests of the shared app get fresh connections.
        await app.state.database.engine.dispose()


async def test_one_root_field_leaves_no_transaction_open_and_several_share_one(app, client):
    """The server's own transaction status after each statement (from the protocol's
    ReadyForQuery): a lone root field's implicit transaction ended at its Sync (IDLE);
    several root fields are still inside their shared block (INTRANS)."""
    engine = app.state.database.engine.sync_engine
    states: list[str] = []

    def after(conn, cursor, statement, parameters, context, executemany):
        states.append(cursor.connection.info.transaction_status.name)

    event.listen(engine, "after_cursor_execute", after)
    try:
        await data(client, "{ customers(first: 1) { nodes { id } } }")
        assert states == ["IDLE"]
        states.clear()
        await data(client, "{ a: customers(first: 1) { totalCount } b: customers(first: 2) { totalCount } }")
        assert states == ["INTRANS", "INTRANS"]
    finally:
        event.remove(engine, "after_cursor_execute", after)


async def test_the_planner_statements_are_counted_and_transport_is_not(app, client):
    with count_statements(app) as statements:
        await data(client, "{ customers(first: 1) { nodes { id } } }")
    assert len(statements) == 1 and "customers" in statements[0]
    with count_statements(app) as statements:
        await data(client, "{ a: customers(first: 1) { totalCount } b: orders(first: 1) { totalCount } }")
    assert len(statements) == 2
    assert not any("set_config" in s or s.startswith(("BEGIN", "ROLLBACK")) for s in statements)


@pytest.fixture
async def one_connection(seeded_url):
    """A pool of one connection, reached through a proxy that counts round trips."""
    async with counting_proxy(seeded_url) as (proxied_url, counter):
        database = Database(replace(Settings.from_env({}), database_url=proxied_url, pool_size=1))
        # Pay the connection start-up now.
        await database.requests.release(await database.requests.acquire())
        counter.reset()
        try:
            yield database, counter
        finally:
            await database.dispose()


def _owned_by(url, org_id: int) -> int:
    return sql(url, "SELECT count(*) FROM customers WHERE org_id = %s", org_id)[0][0]


async def test_a_lone_statement_is_one_round_trip_and_sees_only_its_organization(one_connection, seeded_url):
    database, counter = one_connection
    transaction = RequestTransaction(database, GLOBEX, Mode.LONE_STATEMENT)
    try:
        visible = await transaction.fetch_value(VISIBLE, {})
    finally:
        await transaction.close()
    assert counter.round_trips == 1
    assert visible == {"orgs": [GLOBEX], "rows": _owned_by(seeded_url, GLOBEX)}


async def test_several_statements_share_one_snapshot_at_one_round_trip_each_plus_the_end(one_connection, seeded_url):
    database, counter = one_connection
    transaction = RequestTransaction(database, ACME)
    try:
        first = await transaction.fetch_value(VISIBLE, {})
        second = await transaction.fetch_value("SELECT pg_current_xact_id_if_assigned() IS NULL", {})
    finally:
        await transaction.close()
    assert counter.round_trips == 3  # BEGIN + set_config + first; second; ROLLBACK
    assert first == {"orgs": [ACME], "rows": _owned_by(seeded_url, ACME)} and second is True


async def test_the_organization_ends_with_its_transaction(one_connection):
    database, _ = one_connection
    for single in (True, False):
        transaction = RequestTransaction(database, GLOBEX, Mode.LONE_STATEMENT if single else Mode.SNAPSHOT)
        await transaction.fetch_value("SELECT 1", {})
        await transaction.close()
        # The pool's only connection, as the next request would get it.
        connection = await database.requests.acquire()
        try:
            cursor = await connection.execute("SELECT current_setting('bizgraph.org_id', true), current_user")
            setting, user = await cursor.fetchone() or (None, None)
        finally:
            await database.requests.release(connection)
        assert setting in (None, "") and user == "bizgraph_app"


async def test_a_cancelled_statement_does_not_poison_the_pool(one_connection):
    database, _ = one_connection
    transaction = RequestTransaction(database, ACME, Mode.LONE_STATEMENT)
    task = asyncio.create_task(transaction.fetch_value("SELECT pg_sleep(5)", {}))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(transaction.close(), 2)
    after = RequestTransaction(database, ACME, Mode.LONE_STATEMENT)
    try:
        assert await asyncio.wait_for(after.fetch_value(VISIBLE, {}), 2) is not None
    finally:
        await after.close()
