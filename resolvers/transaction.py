"""The read transaction of one GraphQL operation, opened on first use.

Row-level security shows a transaction only the organization named by
``bizgraph.org_id`` (set LOCAL, so it lives exactly as long as the transaction),
so every statement runs inside a transaction that set it. Round trips stay few:
what the transaction needs first is sent in the same pipelined exchange as its
first statement (``resolvers/wire.py``):

- one statement (``Mode.LONE_STATEMENT``, a lone root field): ``set_config``
  and the statement up to a single Sync. Without an explicit BEGIN, PostgreSQL
  runs everything up to a Sync as one implicit transaction, committed (or rolled
  back, after an error) at the Sync: one round trip, and the connection is idle
  again afterwards.
- several statements (``Mode.SNAPSHOT``, the default): ``BEGIN … REPEATABLE READ READ ONLY``, ``set_config``
  and the first statement share one round trip; each later statement is one
  more, and ``close`` rolls the read-only transaction back.

A statement written for the organization's time zone (a bucketed aggregate's ``Plan.zoned_sql``)
runs through ``fetch_value_in_zone``: the transaction's TimeZone is set to the organization's
zone just before it, in the same exchange, and back to UTC just after it when the transaction
goes on (instants render with an explicit offset in UTC everywhere else).

Statements go through the psycopg connection's libpq handle, not SQLAlchemy's
cursor. They are still reported to the engine's ``before_cursor_execute`` and
``after_cursor_execute`` listeners, so statement counts and tracing keep
seeing every statement the planner sends; BEGIN, ``set_config`` and ROLLBACK
are transport and are not reported.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from app.connection_pool import ConnectionPool
from app.db import Database
from app.replicas import Replica
from resolvers.wire import SentStatement, Statement, exchange

BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# The organization's zone for the transaction (``fetch_value_in_zone``); its row is the one
# row-level security shows, once the organization is named.
SET_ORGANIZATION_ZONE = (
    "SELECT set_config('TimeZone', (SELECT time_zone FROM organizations WHERE id = %s::bigint), true)"
)
SET_UTC = "SELECT set_config('TimeZone', 'UTC', true)"


class Mode(enum.Enum):
    """How the operation's statements are wrapped in a transaction."""

    # Several statements share one read-only snapshot, rolled back at ``close``.
    SNAPSHOT = "snapshot"
    # Exactly one statement: its implicit transaction ends at its Sync, no BEGIN.
    LONE_STATEMENT = "lone statement"


class TransactionClosed(RuntimeError):
    """A statement after ``close``: the operation's database work is over."""


class RequestTransaction:
    """graphql-core resolves root query fields concurrently and a connection runs
    one statement at a time, so statements are serialised by a lock."""

    def __init__(
        self, database: Database, org_id: int, mode: Mode = Mode.SNAPSHOT, *, replica: Replica | None = None
    ) -> None:
        self._database = database
        # Where the reads go: a read replica, or (None) the primary. A replica that fails
        # before the first statement answered is left for the primary (``_leave_replica``).
        self._replica = replica
        # Every transaction this opens is confined to the principal's organization
        # by row-level security (``bizgraph.org_id``), whatever the SQL says.
        self._org_id = str(org_id)
        self._driver: psycopg.AsyncConnection[Any] | None = None
        # The pool the connection came from (the primary's or the replica's).
        self._pool: ConnectionPool = database.requests
        self._in_block = False  # an explicit BEGIN was sent on this connection
        self._statements = 0
        self._lock = asyncio.Lock()
        self._mode = mode
        self._closed = False

    def use(self, mode: Mode) -> None:
        """How the statements still to come are wrapped; said before the first one
        (whoever knows the operation's shape knows it before any statement runs)."""
        self._mode = mode

    async def fetch_value(self, sql: str, params: dict[str, Any]) -> Any:
        """Run one statement and return the first column of its first row (or None)."""
        rows = await self._fetch(sql, params, every_row=False)
        return rows[0][0] if rows else None

    async def fetch_value_in_zone(self, sql: str, params: dict[str, Any]) -> Any:
        """``fetch_value`` with the transaction's TimeZone set to the organization's for this
        statement only (``Plan.zoned_sql``): set just before it, in the same exchange, and set
        back to UTC just after it when later statements share the transaction."""
        rows = await self._fetch(sql, params, every_row=False, zoned=True)
        return rows[0][0] if rows else None

    async def fetch_rows(self, sql: str, params: dict[str, Any], *, zoned: bool = False) -> list[tuple[Any, ...]]:
        """Run one statement and return all its rows (a multiplexed statement's, one per
        operation); ``zoned`` as ``fetch_value_in_zone``."""
        return await self._fetch(sql, params, every_row=True, zoned=zoned)

    async def _fetch(
        self, sql: str, params: dict[str, Any], *, every_row: bool, zoned: bool = False
    ) -> list[tuple[Any, ...]]:
        async with self._lock:
            # After a database restart every pooled connection is dead, not just the first
            # one taken: each is found out and discarded in turn, at most the pool's worth.
            attempts = self._database.pool_size + 1
            while True:
                try:
                    rows = await self._rows(sql, params, every_row, zoned)
                    break
                except psycopg.OperationalError as error:
                    if self._replica is not None and self._statements == 0:
                        # The replica went away since its last check: the primary answers.
                        await self._leave_replica(error)
                        continue
                    # A pooled connection that died (database restart, failover) is
                    # noticed here instead of by a ping before every request; nothing
                    # was read yet, so the statement can simply run again.
                    attempts -= 1
                    if self._driver is None or not self._driver.broken or self._statements > 0 or attempts == 0:
                        raise
                    await self._discard()
            self._statements += 1
        return rows

    async def _rows(self, sql: str, params: dict[str, Any], every_row: bool, zoned: bool) -> list[tuple[Any, ...]]:
        driver = await self._open()
        # The engine's statement listeners (statement counts, tracing) hear every statement
        # the planner sends, though it goes straight through the driver. The marker stands
        # for the cursor they would get: tracing tells concurrent statements apart by it.
        marker = SentStatement(driver)
        dispatch = self._database.engine.sync_engine.dispatch
        for listener in dispatch.before_cursor_execute:
            # Listeners may rewrite the statement (e.g. SQL comments for tracing).
            sql, params = listener(None, marker, sql, params, None, False)
        statements: list[Statement] = []
        if self._mode is Mode.LONE_STATEMENT or not self._in_block:
            # What its transaction needs first, in the same exchange, in order.
            if self._mode is Mode.SNAPSHOT:
                statements.append(Statement(BEGIN_SNAPSHOT))
                self._in_block = True
            statements.append(Statement(self._database.organization_statement, (self._org_id,)))
        answer = -1
        if zoned:
            statements.append(Statement(SET_ORGANIZATION_ZONE, (self._org_id,)))
        statements.append(Statement(sql, params))
        if zoned and self._mode is Mode.SNAPSHOT:
            # Later statements of the transaction render instants in UTC again.
            statements.append(Statement(SET_UTC))
            answer = -2
        rows = await exchange(driver, statements, prepare=self._database.prepared_statements, answer=answer)
        self._database.exchanged()
        if not every_row:
            rows = rows[:1]
        for listener in dispatch.after_cursor_execute:
            listener(None, marker, sql, params, None, False)
        return rows

    async def _open(self) -> psycopg.AsyncConnection[Any]:
        if self._closed:
            # A field function still running after its operation ended would
            # otherwise check out a connection that nobody closes.
            raise TransactionClosed("the operation's transaction is already closed")
        if self._driver is None:
            if self._replica is not None:
                try:
                    self._pool = self._replica.pool
                    self._driver = await self._pool.acquire()
                except psycopg.OperationalError as error:
                    await self._leave_replica(error)
            if self._driver is None:
                self._pool = self._database.requests
                self._driver = await self._pool.acquire()
        return self._driver

    async def _leave_replica(self, error: BaseException) -> None:
        replica, self._replica = self._replica, None
        if replica is not None and self._database.replicas is not None:
            self._database.replicas.failed(replica, error)
        await self._discard()

    async def _discard(self) -> None:
        driver, self._driver, self._in_block = self._driver, None, False
        if driver is not None:
            await self._pool.discard(driver)

    async def close(self) -> None:
        """Ends the transaction and gives its connection back (or discards it);
        no statement runs after this."""
        self._closed = True
        driver = self._driver
        if driver is None:
            return
        # libpq's own status, read straight (``driver.info`` builds an object per read).
        status = driver.pgconn.transaction_status
        if driver.broken or status in (TransactionStatus.ACTIVE, TransactionStatus.UNKNOWN):
            # Cut off mid-exchange (e.g. a cancelled request): its protocol state
            # is unknown, so it must not go back to the pool.
            await self._discard()
            return
        self._driver, self._in_block = None, False
        try:
            if status != TransactionStatus.IDLE:
                await driver.execute("ROLLBACK")  # read only: nothing to keep
                self._database.exchanged()
        finally:
            # A connection the ROLLBACK could not reach is closed, not pooled.
            await self._pool.release(driver)
