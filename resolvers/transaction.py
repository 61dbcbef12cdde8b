"""One database transaction per GraphQL operation, opened on first use."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database


class RequestTransaction:
    """Lazily opens a read transaction; every root field of the operation shares it.

    graphql-core resolves root query fields concurrently, and a connection runs
    one statement at a time, so statements are serialised by a lock.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._stack: AsyncExitStack | None = None
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def fetch_value(self, sql: str, params: dict[str, Any]) -> Any:
        """Run one statement and return the first column of its first row (or None)."""
        async with self._lock:
            connection = await self._open()
            result = await connection.exec_driver_sql(sql, params)
            row = result.first()
        return None if row is None else row[0]

    async def _open(self) -> AsyncConnection:
        if self._connection is None:
            stack = AsyncExitStack()
            self._connection = await stack.enter_async_context(self._database.read())
            self._stack = stack
        return self._connection

    async def close(self) -> None:
        stack, self._stack, self._connection = self._stack, None, None
        if stack is not None:
            await stack.aclose()
