"""Engine and connection factories.

Nothing connects at import time: ``Database`` is built by the composition root
(``create_app``) or the CLI and disposed by them.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import orjson
from psycopg.types.json import set_json_loads
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.config import Settings


def _connect_args(settings: Settings) -> dict[str, Any]:
    # Session settings travel in the startup packet, so no request pays a
    # round trip for them. UTC makes timestamptz render with an explicit offset.
    options = f"-c TimeZone=UTC -c statement_timeout={settings.statement_timeout_ms}"
    return {"options": options, "application_name": "bizgraph"}


def _orjson_loads(data: bytes | str) -> Any:
    return orjson.loads(data)


class Database:
    """The process's connection pool to PostgreSQL."""

    def __init__(self, settings: Settings) -> None:
        if settings.database_url is None:
            raise ValueError("Database needs settings.database_url")
        self.url: URL = settings.database_url
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            # A fixed pool: overflow connections are closed when returned, so under
            # load they churn (a new backend per burst); waiting for one is cheaper.
            pool_size=settings.pool_size,
            max_overflow=0,
            # No ping per checkout: a dead connection is retried by the reader
            # (resolvers/transaction.py), which saves a round trip per request.
            pool_pre_ping=False,
            connect_args=_connect_args(settings),
        )
        # JSON built by PostgreSQL is parsed by orjson: the planner's results are
        # one large JSON value per root field.
        set_json_loads(_orjson_loads)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction for start-up and CLI look-ups (requests use
        ``resolvers.transaction.RequestTransaction``)."""
        async with self.engine.connect() as connection:
            await connection.execution_options(postgresql_readonly=True, isolation_level="REPEATABLE READ")
            async with connection.begin():
                yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()


def sync_engine(url: URL, settings: Settings | None = None) -> Engine:
    """A synchronous, unpooled engine for the CLI, migrations and seeding."""
    connect_args = _connect_args(settings or Settings())
    return create_engine(url, connect_args=connect_args, poolclass=NullPool)
