"""Every committed change reaches the process's change listener, with its organization
and table, whoever made it: bizgraph's API or SQL sent straight to PostgreSQL. Nothing
arrives for what did not commit, a transaction announces each (organization, table)
once, and the listener survives losing its connection (a terminated backend, the
network, a real PostgreSQL restart), telling its sinks to read everything again.

NOTIFY is delivered only at commit, so these tests commit for real, on databases of
their own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import orjson
import psycopg
import pytest
from sqlalchemy.engine import URL

from app.auth.principal import Principal
from app.config import Settings
from app.errors import ConfigError
from app.live.changes import Change
from app.live.listener import APPLICATION_NAME, Backoff, ChangeListener
from app.migrations import upgrade
from schema.prepared import prepare_operation
from tests.support.changes import WAIT_SECONDS, RecordingSink, execute, notify
from tests.support.db import conninfo
from tests.support.graphql import running_app
from tests.support.private_postgres import missing_reason, private_cluster
from tests.support.wire import cuttable_proxy
from tests.support.workflow import gid, mutate, sql, token

ACME, GLOBEX = 1, 2
POLL_SECONDS = 0.02


def changed(org: int | None, *tables: str) -> Change:
    return Change(org, frozenset(tables))


def bare(changes: list[Change]) -> list[Change]:
    """The changes without their anchors (tested on their own below)."""
    return [replace(change, customers=None, managers=None) for change in changes]


@pytest.fixture(scope="module")
def feed_settings(pg_server, demo_settings: Settings) -> Iterator[Settings]:
    """A seeded database of this module's own: its notifications are nobody else's."""
    from app.seed import run_seed

    url = pg_server.create_database("bizgraph_feed")
    upgrade(url)
    run_seed(url, scale="tiny", seed=7, reset=False, progress=False)
    yield replace(demo_settings, database_url=url)
    pg_server.drop_database(url)


@pytest.fixture
def url(feed_settings: Settings) -> URL:
    assert feed_settings.database_url is not None
    return feed_settings.database_url


@pytest.fixture
async def sink(url: URL) -> AsyncIterator[RecordingSink]:
    """A sink of a listener on the module's database, started and stopped around the test."""
    listener = ChangeListener(conninfo(url))
    recording = RecordingSink()
    listener.add_sink(recording)
    await listener.start()
    try:
        yield recording
    finally:
        await listener.stop()


def _listener_backends(url: URL) -> list[int]:
    rows = sql(
        url,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
        APPLICATION_NAME,
    )
    return [pid for (pid,) in rows]


async def _eventually(condition, *, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / POLL_SECONDS)):
        if condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"still not true after {seconds} s")


def _customer_of(url: URL, org: int) -> int:
    return sql(url, "SELECT min(id) FROM customers WHERE org_id = %s", org)[0][0]


# --- what the triggers announce ---------------------------------------------------------


async def test_an_insert_an_update_and_a_delete_announce_their_organization_and_table(sink, url):
    # Given a listener; when a product of acme is inserted, updated and deleted, one commit each
    await execute(url, "INSERT INTO products (org_id, sku, name, unit_price) VALUES (1, 'FEED-1', 'Feed', 9.50)")
    inserted = await sink.changes_until_marker(url)
    await execute(url, "UPDATE products SET name = 'Feed 2' WHERE sku = 'FEED-1'")
    updated = await sink.changes_until_marker(url)
    await execute(url, "DELETE FROM products WHERE sku = 'FEED-1'")
    deleted = await sink.changes_until_marker(url)
    # Then each announces acme's products, and nothing of globex
    assert inserted == updated == deleted == [changed(ACME, "products")]


async def test_a_statement_touching_two_organizations_announces_both(sink, url):
    ids = [_customer_of(url, ACME), _customer_of(url, GLOBEX)]
    await execute(url, ("UPDATE customers SET phone = '+41 1' WHERE id = ANY(%s)", (ids,)))
    heard = bare(await sink.changes_until_marker(url))
    assert sorted(heard, key=lambda change: change.org_id or 0) == [
        changed(ACME, "customers"),
        changed(GLOBEX, "customers"),
    ]


async def test_a_statement_that_changes_no_row_announces_nothing(sink, url):
    await execute(url, "UPDATE customers SET phone = 'never' WHERE false", "DELETE FROM orders WHERE id < 0")
    assert await sink.changes_until_marker(url) == []


async def test_a_change_is_heard_when_its_transaction_commits_not_before(sink, url):
    async with await psycopg.AsyncConnection.connect(conninfo(url)) as conn:
        await conn.execute("UPDATE customers SET phone = 'pending' WHERE id = %s", (_customer_of(url, GLOBEX),))
        # While the transaction is open, a marker committed after the write overtakes it
        assert await sink.changes_until_marker(url) == []
        await conn.commit()
    assert bare(await sink.changes_until_marker(url)) == [changed(GLOBEX, "customers")]


async def test_a_rolled_back_transaction_announces_nothing(sink, url):
    async with await psycopg.AsyncConnection.connect(conninfo(url)) as conn:
        await conn.execute("INSERT INTO products (org_id, sku, name, unit_price) VALUES (1, 'GONE-1', 'Gone', 1)")
        await conn.execute("UPDATE customers SET phone = 'undone' WHERE org_id = 2")
        await conn.rollback()
    assert await sink.changes_until_marker(url) == []


async def test_a_thousand_rows_in_one_transaction_announce_each_organization_and_table_once(sink, url):
    # Given one transaction of 1,000 single-row statements over two organizations and two tables
    async with await psycopg.AsyncConnection.connect(conninfo(url)) as conn:
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO products (org_id, sku, name, unit_price) VALUES (%s, %s, 'Bulk', 1)",
                [(ACME if n % 2 else GLOBEX, f"BULK-{n}") for n in range(1000)],
            )
        await conn.execute("UPDATE products SET active = false WHERE sku LIKE 'BULK-%'")
        await conn.execute("DELETE FROM products WHERE sku LIKE 'BULK-%' AND org_id = 1")
    # Then PostgreSQL folded the identical notifications: one per (organization, table)
    heard = bare(await sink.changes_until_marker(url))
    assert sorted(heard, key=lambda change: change.org_id or 0) == [
        changed(ACME, "products"),
        changed(GLOBEX, "products"),
    ]
    await execute(url, "DELETE FROM products WHERE sku LIKE 'BULK-%'")


async def test_an_organization_change_announces_that_organization(sink, url):
    await execute(url, "UPDATE organizations SET order_approval_threshold = order_approval_threshold WHERE id = 2")
    assert await sink.changes_until_marker(url) == [changed(GLOBEX, "organizations")]


async def test_truncate_announces_every_organization(sink, url):
    await execute(url, "TRUNCATE audit_log")
    assert await sink.changes_until_marker(url) == [changed(None, "audit_log")]


def test_every_table_of_organization_data_announces_its_changes(url):
    # A new table keyed by org_id must announce its changes (alembic 0008), or be named
    # here with the reason no live query needs it.
    # Read by no query, written beside announced rows (the email cursor: beside deliveries;
    # the webhook worker's own place in the outbox).
    bookkeeping = {"idempotency_keys", "counters", "email_cursors", "webhook_progress"}
    keyed = {
        table
        for (table,) in sql(
            url,
            "SELECT table_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_name = 'org_id'",
        )
    }
    announcing: dict[str, set[str]] = {}
    for table, trigger in sql(
        url,
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE t.tgname LIKE 'announce\\_%%' AND NOT t.tgisinternal",
    ):
        announcing.setdefault(table, set()).add(trigger)
    assert set(announcing) == (keyed - bookkeeping) | {"organizations"}
    assert all(
        triggers == {"announce_inserts", "announce_updates", "announce_deletes", "announce_truncates"}
        for triggers in announcing.values()
    )


# --- whose accounts a change of the sales ledger touched (alembic 0009) --------------------


def _account(url: URL, org: int) -> tuple[int, int, int]:
    """A customer of ``org`` with an account manager and an order with lines: (customer, manager, order)."""
    [(customer, manager, order)] = sql(
        url,
        "SELECT c.id, c.account_manager_id, o.id FROM customers c JOIN orders o ON o.customer_id = c.id"
        " WHERE c.org_id = %s AND c.account_manager_id IS NOT NULL"
        " AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id) ORDER BY o.id LIMIT 1",
        org,
    )
    return customer, manager, order


def anchored(org: int, table: str, customers: set[int], managers: set[int]) -> Change:
    return Change(org, frozenset({table}), frozenset(customers), frozenset(managers))


async def test_changes_of_the_sales_ledger_name_their_customers_and_account_managers(sink, url):
    customer, manager, order = _account(url, ACME)
    # An order, its lines (through their order) and a customer row each name the customer
    # and its manager
    await execute(url, ("UPDATE orders SET updated_at = now() WHERE id = %s", (order,)))
    await execute(url, ("UPDATE order_lines SET quantity = quantity WHERE order_id = %s", (order,)))
    await execute(url, ("UPDATE customers SET phone = '+41 2' WHERE id = %s", (customer,)))
    assert await sink.changes_until_marker(url) == [
        anchored(ACME, "orders", {customer}, {manager}),
        anchored(ACME, "order_lines", {customer}, {manager}),
        anchored(ACME, "customers", {customer}, {manager}),
    ]


async def test_a_customer_moved_to_another_manager_names_both_managers(sink, url):
    customer, manager, _ = _account(url, ACME)
    [(other,)] = sql(url, "SELECT min(id) FROM employees WHERE org_id = %s AND id <> %s", ACME, manager)
    await execute(url, ("UPDATE customers SET account_manager_id = %s WHERE id = %s", (other, customer)))
    await execute(url, ("UPDATE customers SET account_manager_id = %s WHERE id = %s", (manager, customer)))
    assert await sink.changes_until_marker(url) == [anchored(ACME, "customers", {customer}, {manager, other})] * 2


async def test_payments_name_the_customer_of_their_invoice(sink, url):
    [(invoice, customer, manager)] = sql(
        url,
        "SELECT i.id, i.customer_id, c.account_manager_id FROM invoices i JOIN customers c ON c.id = i.customer_id"
        " WHERE i.org_id = %s AND EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id) ORDER BY i.id LIMIT 1",
        GLOBEX,
    )
    await execute(url, ("UPDATE payments SET reference = reference WHERE invoice_id = %s", (invoice,)))
    managers = {manager} - {None}
    assert await sink.changes_until_marker(url) == [anchored(GLOBEX, "payments", {customer}, managers)]


async def test_a_change_of_many_customers_or_of_rows_whose_order_is_gone_names_nobody(sink, url):
    # More customers than a notification names (100): anyone may be concerned
    await execute(
        url,
        "INSERT INTO customers (org_id, number, name, kind, segment, country)"
        " SELECT 1, 'MANY-' || n, 'Many ' || n, 'company', 'enterprise', 'CH' FROM generate_series(1, 101) AS n",
    )
    await execute(url, "DELETE FROM customers WHERE number LIKE 'MANY-%'")
    # Lines deleted with their order (cascade): their customer can no longer be found
    [(order,)] = sql(
        url,
        "SELECT min(o.id) FROM orders o WHERE o.org_id = %s AND NOT EXISTS (SELECT 1 FROM invoices i"
        " WHERE i.order_id = o.id) AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)",
        GLOBEX,
    )
    await execute(url, ("DELETE FROM orders WHERE id = %s", (order,)))
    heard = await sink.changes_until_marker(url)
    assert heard[:2] == [changed(ACME, "customers")] * 2
    lines = [change for change in heard if change.tables == {"order_lines"}]
    assert lines == [changed(GLOBEX, "order_lines")]


async def test_moving_a_customer_waits_for_the_uncommitted_changes_of_its_orders(url):
    # An uncommitted order change names the customer's manager as it was; a move to another
    # manager committing before it would leave the new manager's live queries without it.
    # So the move waits.
    customer, manager, order = _account(url, ACME)
    [(other,)] = sql(url, "SELECT min(id) FROM employees WHERE org_id = %s AND id <> %s", ACME, manager)
    async with await psycopg.AsyncConnection.connect(conninfo(url)) as writer:
        await writer.execute("UPDATE order_lines SET quantity = quantity WHERE order_id = %s", (order,))
        async with await psycopg.AsyncConnection.connect(conninfo(url)) as mover:
            await mover.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                await mover.execute("UPDATE customers SET account_manager_id = %s WHERE id = %s", (other, customer))
        await writer.rollback()
    # Ordinary updates of the customer do not wait
    async with await psycopg.AsyncConnection.connect(conninfo(url)) as writer:
        await writer.execute("UPDATE orders SET updated_at = now() WHERE id = %s", (order,))
        async with await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True) as editor:
            await editor.execute("SET lock_timeout = '300ms'")
            await editor.execute("UPDATE customers SET phone = '+41 3' WHERE id = %s", (customer,))
        await writer.rollback()


# --- bizgraph's own writes, through the server's listener --------------------------------


async def test_a_mutation_through_the_api_is_announced_when_it_commits(feed_settings, url):
    async with running_app(feed_settings) as (app, client):
        # Given the server's own listener (started with the app) and a sink on it
        sink = RecordingSink()
        app.state.changes.add_sink(sink)
        # When the acme admin creates a customer
        document = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { errors { code } } }"
        customer = {"input": {"name": "Live Feed AG", "kind": "COMPANY", "segment": "ENTERPRISE", "country": "CH"}}
        payload = await mutate(client, document, customer, token(feed_settings, "admin"))
        assert payload["errors"] == []
        # Then the customer, its audit row and its event are announced, for acme only
        heard = set(bare(await sink.changes_until_marker(url)))
        assert heard == {changed(ACME, "customers"), changed(ACME, "audit_log"), changed(ACME, "outbox")}


async def test_a_write_made_outside_bizgraph_reaches_a_live_query_through_the_servers_listener(feed_settings, url):
    product = sql(url, "SELECT min(id) FROM products WHERE org_id = %s", ACME)[0][0]
    document = "subscription($id: ID!) { node(id: $id) { ... on Product { name } } }"
    async with running_app(feed_settings) as (app, _client):
        # Given an admin of acme watching a product live
        live = app.state.live
        prepared = prepare_operation(live.schema._schema, document, {"id": gid("Product", product)}, None)
        admin = Principal(
            org_id=ACME, subject="feed-test", roles=frozenset({"admin"}), employee_id=None, customer_id=None
        )
        feed = await live.subscribe(admin, prepared, "test")
        try:
            messages = aiter(feed)
            async with asyncio.timeout(WAIT_SECONDS):
                await anext(messages)
                # When another system renames it straight in PostgreSQL
                await execute(url, ("UPDATE products SET name = 'Renamed by psql' WHERE id = %s", (product,)))
                # Then the live query answers again, with the new name, without anyone telling the engine
                renamed = orjson.loads(await anext(messages))
        finally:
            await feed.aclose()
    assert renamed["data"] == {"node": {"name": "Renamed by psql"}}


# --- the listener ------------------------------------------------------------------------


async def test_malformed_notifications_are_logged_and_ignored(sink, url, caplog):
    caplog.set_level(logging.WARNING, logger="bizgraph.live.listener")
    for payload in ("not json", "[1]", '{"org": "1", "tables": ["orders"]}', '{"org": 1, "tables": []}', '{"org": 1}'):
        await notify(url, payload)
    assert await sink.changes_until_marker(url) == []
    assert sum("malformed" in record.getMessage() for record in caplog.records) == 5


async def test_the_listener_reconnects_after_its_backend_is_terminated_and_resyncs_once(sink, url):
    # Given a listening listener; when PostgreSQL terminates its backend
    [pid] = _listener_backends(url)
    assert sql(url, "SELECT pg_terminate_backend(%s)", pid) == [(True,)]
    # Then it listens again on a new backend and tells its sinks to resync, once
    await sink.wait_for_resync()
    await execute(url, "UPDATE customers SET phone = 'after' WHERE org_id = 1")
    assert bare(await sink.changes_until_marker(url)) == [changed(ACME, "customers")]
    assert sink.resyncs == 1
    assert _listener_backends(url) not in ([], [pid])


async def test_stop_leaves_no_connection_behind(url):
    listener = ChangeListener(conninfo(url))
    await listener.start()
    assert listener.listening and len(_listener_backends(url)) == 1
    await listener.stop()
    assert not listener.listening
    await _eventually(lambda: _listener_backends(url) == [])


async def test_stop_while_reconnecting_ends_cleanly(url):
    async with cuttable_proxy(url) as proxy:
        listener = ChangeListener(conninfo(proxy.url))
        await listener.start()
        # Given a listener cut off from PostgreSQL and knocking again
        await proxy.cut()
        await _eventually(lambda: not listener.listening)
        await asyncio.sleep(0.2)  # a few attempts into the backoff
        # When it is stopped, it stops at once, and the proxy coming back changes nothing
        async with asyncio.timeout(1):
            await listener.stop()
        await proxy.restore()
        await asyncio.sleep(0.3)
        assert not listener.listening and _listener_backends(url) == []


def test_reconnection_backs_off_exponentially_with_jitter_up_to_a_cap():
    backoff = Backoff(initial=0.05, cap=5.0)
    ceilings = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]
    for failures, ceiling in enumerate(ceilings, start=1):
        delays = {backoff.delay(failures) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1  # jittered: processes cut off together do not return together


async def test_a_listener_that_cannot_listen_refuses_to_start():
    listener = ChangeListener("postgresql://postgres@127.0.0.1:1/none", described_as="BIZGRAPH_LISTEN_DATABASE_URL")
    with pytest.raises(ConfigError, match="BIZGRAPH_LISTEN_DATABASE_URL"):
        await listener.start()
    assert not listener.listening


@pytest.mark.skipif(missing_reason() is not None, reason=missing_reason() or "")
async def test_the_listener_survives_a_postgresql_restart():
    with private_cluster() as cluster:
        # Given a listener on a cluster of the test's own, hearing changes
        listener = ChangeListener(conninfo(cluster.url))
        sink = RecordingSink()
        listener.add_sink(sink)
        await listener.start()
        try:
            before = await sink.changes_until_marker(cluster.url)
            await notify(cluster.url, '{"org":1,"tables":["orders"]}')
            assert before == [] and await sink.changes_until_marker(cluster.url) == [changed(ACME, "orders")]
            # When PostgreSQL restarts
            await asyncio.to_thread(cluster.restart)
            # Then the listener is back without help, resyncs once, and hears changes again
            await sink.wait_for_resync()
            assert listener.listening
            await notify(cluster.url, '{"org":2,"tables":["invoices"]}')
            assert await sink.changes_until_marker(cluster.url) == [changed(GLOBEX, "invoices")]
            assert sink.resyncs == 1
        finally:
            await listener.stop()


# --- the server: its own listening URL, and /readyz -----------------------------------------


def test_the_listening_url_defaults_to_the_database_url_and_is_checked():
    assert Settings.from_env({"DATABASE_URL": "postgresql://u@db/biz"}).listen_database_url is None
    direct = Settings.from_env({"BIZGRAPH_LISTEN_DATABASE_URL": "postgresql://u@db-primary:5432/biz"})
    assert direct.listen_database_url is not None and direct.listen_database_url.host == "db-primary"
    with pytest.raises(ConfigError, match="BIZGRAPH_LISTEN_DATABASE_URL"):
        Settings.from_env({"BIZGRAPH_LISTEN_DATABASE_URL": "mysql://u@db/biz"})


async def test_readyz_reports_the_feed_and_the_feed_follows_its_own_url(feed_settings, url):
    async with cuttable_proxy(url) as proxy:
        # Given a server whose listener alone goes through a proxy
        settings = replace(feed_settings, listen_database_url=proxy.url)
        async with running_app(settings) as (app, client):
            assert (await client.get("/readyz")).json() == {"ready": True, "listening": True}
            # When the proxy is cut, the process stays ready and says it is not listening
            await proxy.cut()
            await _eventually(lambda: not app.state.changes.listening)
            assert (await client.get("/readyz")).json() == {"ready": True, "listening": False}
            # And when it is back, the listener is too
            await proxy.restore()
            await _eventually(lambda: app.state.changes.listening)
            assert (await client.get("/readyz")).json() == {"ready": True, "listening": True}


async def test_a_server_whose_listening_url_is_unreachable_refuses_to_start(feed_settings):
    settings = replace(feed_settings, listen_database_url=feed_settings.database_url.set(port=1))
    with pytest.raises(ConfigError, match="BIZGRAPH_LISTEN_DATABASE_URL"):
        async with running_app(settings):
            pass
