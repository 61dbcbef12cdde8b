"""Running the worker's statements: plain SQL with psycopg's ``%(name)s`` parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

Row = Mapping[str, Any]


async def rows(connection: AsyncConnection, sql: str, params: Mapping[str, Any]) -> list[Row]:
    result = await connection.exec_driver_sql(sql, dict(params))
    # exec_driver_sql's rows are keyed by column name only.
    return [cast(Row, row) for row in result.mappings().all()]


async def row(connection: AsyncConnection, sql: str, params: Mapping[str, Any]) -> Row | None:
    found = await rows(connection, sql, params)
    return found[0] if found else None


async def execute(connection: AsyncConnection, sql: str, params: Mapping[str, Any]) -> int:
    result = await connection.exec_driver_sql(sql, dict(params))
    return result.rowcount
