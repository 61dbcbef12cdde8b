"""Schema work around a bulk load: emptying the tables, setting their secondary
indexes and foreign keys aside while rows stream in, putting them back verbatim,
and bringing identities and planner statistics up to date."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import psycopg
from psycopg import sql

# Tables that hold how the deployment runs, not business data: seeding neither refuses
# over them nor empties them (stored operations are the first-party apps' allow-list).
NOT_BUSINESS_DATA = frozenset({"alembic_version", "stored_operations"})


def business_tables(conn: psycopg.Connection) -> list[str]:
    """Every table of the schema but alembic's own and the stored operations."""
    rows = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    ).fetchall()
    return [name for (name,) in rows if name not in NOT_BUSINESS_DATA]


def nonempty_tables(conn: psycopg.Connection, tables: Sequence[str]) -> list[str]:
    found = []
    for table in tables:
        query = sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(table))
        row = conn.execute(query).fetchone()  # EXISTS always answers one row
        if row is not None and row[0]:
            found.append(table)
    return found


def truncate(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    conn.execute(
        sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(sql.SQL(", ").join(map(sql.Identifier, tables)))
    )


def set_aside(conn: psycopg.Connection, tables: Sequence[str]) -> list[str]:
    """Drop the foreign keys and the plain (non-unique, non-constraint) indexes of
    ``tables``; return the statements that recreate them, indexes first.

    Building an index once over loaded rows is far cheaper than maintaining it row
    by row, and re-adding a foreign key checks every row with one join instead of a
    trigger per row. Primary keys and unique constraints stay, so duplicates still fail."""
    names = list(tables)
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
        " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
        " WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s)"
        " AND NOT i.indisunique AND NOT i.indisprimary"
        " AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        " ORDER BY 1",
        (names,),
    ).fetchall()
    foreign_keys = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)"
        " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
        " WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s)"
        " ORDER BY 1, 2",
        (names,),
    ).fetchall()
    for table, name, _ in foreign_keys:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.SQL(table), sql.Identifier(name)))
    for name, _ in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))
    restore = [definition for _, definition in indexes]
    restore += [
        f"ALTER TABLE {table} ADD CONSTRAINT {sql.Identifier(name).as_string(conn)} {definition}"
        for table, name, definition in foreign_keys
    ]
    return restore


def restore(conn: psycopg.Connection, statements: Sequence[str], advance: Callable[[int], None]) -> None:
    for statement in statements:
        conn.execute(statement)
        advance(1)


def advance_identities(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    """The seed chose the ids itself; move each identity past them so that the next
    INSERT does not collide."""
    for table in tables:
        conn.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), max(id)) FROM {}").format(
                sql.Literal(table), sql.Identifier(table)
            )
        )


def analyze(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
