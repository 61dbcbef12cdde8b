"""The database work of one GraphQL operation, opened on first use.

One root field is one statement, which PostgreSQL already runs on one snapshot,
so it goes out alone (autocommit: no BEGIN/COMMIT round trips). Several root
fields share a REPEATABLE READ, READ ONLY transaction so they agree.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database


class RequestTransaction:
    """graphql-core resolves root query fields concurrently and a connection runs
    one statement at a time, so statements are serialised by a lock."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._connection: AsyncConnection | None = None
        self._transaction: Any = None
        self._statements = 0
        self._lock = asyncio.Lock()
        self.single_statement = False

    async def fetch_value(self, sql: str, params: dict[str, Any]) -> Any:
        """Run one statement and return the first column of its first row (or None)."""
        async with self._lock:
            try:
                row = await self._first_row(sql, params)
            except DBAPIError as error:
                # A pooled connection that died (database restart, failover) is
                # noticed here instead of by a ping before every request; nothing
                # was read yet, so the statement can simply run again.
                if not error.connection_invalidated or self._statements > 0:
                    raise
                await self._discard()
                row = await self._first_row(sql, params)
            self._statements += 1
        return None if row is None else row[0]

    async def _first_row(self, sql: str, params: dict[str, Any]) -> Any:
        connection = await self._open()
        result = await connection.exec_driver_sql(sql, params)
        return result.first()

    async def _open(self) -> AsyncConnection:
        if self._connection is None:
            connection = await self._database.engine.connect()
            try:
                if self.single_statement:
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                else:
                    await connection.execution_options(
                        isolation_level="REPEATABLE READ", postgresql_readonly=True
                    )
                    self._transaction = await connection.begin()
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
        return self._connection

    async def _discard(self) -> None:
        connection, self._connection, self._transaction = self._connection, None, None
        if connection is not None:
            await connection.invalidate()
            await connection.close()

    async def close(self) -> None:
        connection, transaction = self._connection, self._transaction
        self._connection, self._transaction = None, None
        try:
            if transaction is not None and transaction.is_active:
                await transaction.rollback()  # read only: nothing to keep
        finally:
            if connection is not None:
                await connection.close()
