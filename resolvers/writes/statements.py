"""A command's statements, sent through the psycopg connection under its SQLAlchemy one.

SQLAlchemy's ``exec_driver_sql`` adds, per statement, a greenlet switch, an execution context
and a result wrapper around the psycopg cursor underneath: measured on this machine, about as
much CPU as psycopg's own work for the statements of a write. Here the cursor is psycopg's,
used directly, and what SQLAlchemy would have done that matters is kept:

- the engine's ``before_cursor_execute`` and ``after_cursor_execute`` listeners hear every
  statement, with the SQLAlchemy connection (statement and round-trip counts, tracing);
- a failing statement goes through SQLAlchemy's own error handling: the ``handle_error``
  listeners, the same ``DBAPIError`` subclass wrapping the same psycopg error, and, on a lost
  connection, its invalidation.

The statement text, its parameters, their adaptation, the server-side preparation (psycopg's,
after the same number of executions) and the rows are psycopg's, as before.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util import greenlet_spawn


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
