"""A command's statements, sent through the psycopg connection under its SQLAlchemy one.

SQLAlchemy's ``exec_driver_sql`` adds, per statement, a greenlet switch, an execution context
and a result wrapper around the psycopg cursor underneath (in a py-spy profile of createOrder,
SQLAlchemy's own frames held about an eighth of the server's samples). Here the cursor is
psycopg's, used directly, and what SQLAlchemy would have done that matters is kept:

- the engine's ``before_cursor_execute`` and ``after_cursor_execute`` listeners hear every
  statement, with the SQLAlchemy connection (statement and round-trip counts, tracing);
- a failing statement goes through SQLAlchemy's own error handling: the ``handle_error``
  listeners, the same ``DBAPIError`` subclass wrapping the same psycopg error, and, on a lost
  connection, its invalidation.

The statement text, its parameters, their adaptation, the server-side preparation (psycopg's,
after the same number of executions) and the rows are psycopg's, as before.

Each round trip costs the server a send, a wake-up and a read, more than the Python around a
small statement. So a statement whose answer nobody reads (the audit row and events a command
records last) can be ``defer``red: it goes out with the next one, and ``finish`` sends what is
deferred, the command's last read and COMMIT in one exchange (``resolvers/wire.py``), in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util import greenlet_spawn

from resolvers.wire import SentStatement, Statement, exchange

COMMIT = Statement("COMMIT")


class DriverStatements:
    """Runs statements on the connection of one transaction; the transaction itself (BEGIN,
    COMMIT, ROLLBACK) stays SQLAlchemy's."""

    def __init__(self, connection: AsyncConnection) -> None:
        sync = connection.sync_connection
        if sync is None:
            raise RuntimeError("a write session needs a started connection")
        self._connection: Connection = sync
        self._dispatch = self._connection.dispatch
        self._driver: psycopg.AsyncConnection[Any] | None = None
        self._deferred: list[Statement] = []
        self.committed = False

    def _psycopg(self) -> psycopg.AsyncConnection[Any]:
        if self._driver is None:
            # The pooled connection is already checked out: reading it sends nothing.
            driver = self._connection.connection.driver_connection
            if not isinstance(driver, psycopg.AsyncConnection):
                raise TypeError("a write session needs the psycopg driver")
            self._driver = driver
        return self._driver

    async def execute(self, sql: str, params: dict[str, Any], *, by_name: bool = True) -> psycopg.AsyncCursor[Any]:
        """The cursor of ``sql`` executed; its rows are dicts by column name, or (``by_name``
        False) tuples."""
        if self.committed:
            raise RuntimeError("a statement after its transaction was committed")
        await self.flush()
        driver = self._psycopg()
        cursor: psycopg.AsyncCursor[Any] = driver.cursor(row_factory=dict_row) if by_name else driver.cursor()
        for listener in self._dispatch.before_cursor_execute:
            # Listeners may rewrite the statement (e.g. SQL comments for tracing).
            sql, params = listener(self._connection, cursor, sql, params, None, False)
        try:
            await cursor.execute(sql, params)
        except psycopg.Error as error:
            # SQLAlchemy's handling raises the wrapped error; it may close the connection
            # (a lost one), which takes its greenlet bridge.
            await greenlet_spawn(self._connection._handle_dbapi_exception, error, sql, params, None, None)
            raise
        for listener in self._dispatch.after_cursor_execute:
            listener(self._connection, cursor, sql, params, None, False)
        return cursor

    def defer(self, sql: str, params: dict[str, Any]) -> None:
        """Holds a statement whose answer nobody reads until the next one is sent."""
        self._deferred.append(Statement(sql, params))

    async def flush(self) -> None:
        """Sends what is deferred, each statement on its own."""
        while self._deferred:
            statement = self._deferred.pop(0)
            assert isinstance(statement.params, dict)
            await self.execute(statement.sql, statement.params)

    async def finish(self, sql: str, params: dict[str, Any], exchanged: Callable[[], None]) -> Any:
        """What is deferred, ``sql`` and COMMIT, in one exchange: the first column of the first
        row of ``sql``. Afterwards the transaction is over (SQLAlchemy's COMMIT finds nothing
        to do). The listeners hear each statement but COMMIT, which is transport, as they hear
        the reads' (without a connection: ``exchanged`` counts the one round trip)."""
        if self.committed:
            raise RuntimeError("a statement after its transaction was committed")
        statements = [*self._deferred, Statement(sql, params)]
        self._deferred = []
        markers = []
        for i, statement in enumerate(statements):
            marker, text, values = SentStatement(self._psycopg()), statement.sql, statement.params
            for listener in self._dispatch.before_cursor_execute:
                text, values = listener(None, marker, text, values, None, False)
            statements[i] = Statement(text, values)
            markers.append(marker)
        self.committed = True
        try:
            rows = await exchange(self._psycopg(), [*statements, COMMIT], prepare=False, answer=len(statements) - 1)
        except psycopg.Error as error:
            last = statements[-1]
            await greenlet_spawn(self._connection._handle_dbapi_exception, error, last.sql, last.params, None, None)
            raise
        finally:
            exchanged()
        for marker, statement in zip(markers, statements, strict=True):
            for listener in self._dispatch.after_cursor_execute:
                listener(None, marker, statement.sql, statement.params, None, False)
        return rows[0][0] if rows else None
