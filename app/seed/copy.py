"""Bulk loading with COPY: binary format, each value typed by its column."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg
from psycopg import sql

from app.seed.common import Row

BATCH = 20_000  # rows between progress updates


def column_types(conn: psycopg.Connection, table: str, columns: Sequence[str]) -> list[int]:
    """The type oid of each column, which binary COPY needs to encode the values."""
    rows = conn.execute(
        "SELECT attname, atttypid::int FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (table,),
    ).fetchall()
    oids: dict[str, int] = dict(rows)
    return [oids[column] for column in columns]


def copy_rows(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Row],
    advance: Callable[[int], None],
) -> None:
    """COPY ``rows`` into ``table``. FREEZE writes them already frozen (no hint-bit
    rewrite on first read, no anti-wraparound vacuum later); PostgreSQL allows it
    because the caller truncated the table earlier in this transaction."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY, FREEZE)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    types = column_types(conn, table, columns)  # before COPY starts: the connection is busy then
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        write = copy.write_row
        for start in range(0, len(rows), BATCH):
            for row in rows[start : start + BATCH]:
                write(row)
            advance(min(BATCH, len(rows) - start))
