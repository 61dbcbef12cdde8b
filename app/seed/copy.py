"""Bulk loading with COPY: binary format, each value typed by its column, one batch of
rows per statement while the generators run."""

from __future__ import annotations

import time
from collections.abc import Sequence

import psycopg
from psycopg import sql

from app.seed.common import Row


def column_types(conn: psycopg.Connection, table: str, columns: Sequence[str]) -> list[int]:
    """The type oid of each column, which binary COPY needs to encode the values."""
    rows = conn.execute(
        "SELECT attname, atttypid::int FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (table,),
    ).fetchall()
    oids: dict[str, int] = dict(rows)
    return [oids[column] for column in columns]


class CopyIn:
    """A ``Dataset`` sink: each batch it is handed goes into its table with one COPY.

    FREEZE writes the rows already frozen (no hint-bit rewrite on first read, no
    anti-wraparound vacuum later); PostgreSQL allows it, batch after batch, because the
    caller truncated the tables earlier in this transaction. ``seconds`` is the time
    spent loading, which the seed reports apart from generating."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.seconds = 0.0
        self._types: dict[str, list[int]] = {}

    def __call__(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        started = time.perf_counter()
        types = self._types.get(table)
        if types is None:  # looked up before COPY starts: the connection is busy then
            types = self._types[table] = column_types(self.conn, table, columns)
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY, FREEZE)").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(types)
            write = copy.write_row
            for row in rows:
                write(row)
        self.seconds += time.perf_counter() - started
