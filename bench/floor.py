"""The floor: each workload as its one hand-written statement, through psycopg_pool.

Connections are in autocommit, so a request is exactly one round trip (no
BEGIN/COMMIT): the least any server could do to produce the same JSON.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from bench.load import Measurement, Operation, closed_loop
from bench.machine import NO_PARTIES, Parties

# The server's sessions run in UTC (app/db.py), which fixes how timestamptz
# renders in JSON; the floor must render the same text.
SESSION = {"autocommit": True, "options": "-c TimeZone=UTC", "application_name": "bizgraph-bench"}


def conninfo(database_url: str) -> str:
    """A libpq URL from DATABASE_URL, dropping an SQLAlchemy driver suffix (postgresql+psycopg://)."""
    url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", database_url.strip())
    if not url.startswith("postgresql://"):
        raise SystemExit("bench: DATABASE_URL must be a postgresql:// URL")
    return url


def fetch(dsn: str, sql: str, params: dict[str, Any]) -> str | None:
    with psycopg.connect(dsn, **SESSION) as conn:
        row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


async def measure_floor(
    dsn: str,
    sql: str,
    params: list[dict[str, Any]],
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int,
    parties: Parties = NO_PARTIES,
) -> Measurement:
    pool = AsyncConnectionPool(dsn, kwargs=SESSION, min_size=concurrency, max_size=concurrency, open=False)
    await pool.open(wait=True, timeout=60)

    async def op(i: int) -> tuple[bool, int]:
        async with pool.connection() as conn:
            cursor = await conn.execute(sql, params[i % len(params)])
            row = await cursor.fetchone()
        ok = row is not None and row[0] is not None
        return ok, len(row[0]) if ok else 0

    operations: list[Operation] = [op] * concurrency
    try:
        return await closed_loop(operations, warmup, duration, max_requests, parties)
    finally:
        await pool.close()
