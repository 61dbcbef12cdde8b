"""Keyset cursors: the sort key of a row, opaque to clients, bound to its ordering.

A cursor is base64 of ``["<SORT>:<DIR>", v1, …, id]`` with every value as text,
so numerics and timestamps round-trip exactly (they are cast back in SQL).
"""

from __future__ import annotations

import base64
import binascii
import json

from app.errors import InvalidCursor
from resolvers.planner.catalog import Column
from resolvers.planner.sqltext import SqlParams, quote_literal


def cursor_sql(signature: str, columns: tuple[Column, ...], alias: str) -> str:
    values = ", ".join(f"({c.render(alias)})::text" for c in columns)
    payload = f"json_build_array({quote_literal(signature)}, {values})::text"
    return f"translate(encode(convert_to({payload}, 'UTF8'), 'base64'), E'\\n', '')"


def decode_cursor(cursor: str, signature: str, width: int) -> list[str | None]:
    try:
        payload = json.loads(base64.b64decode(cursor.encode(), validate=True))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(f"{cursor!r} is not a valid cursor") from None
    if not isinstance(payload, list) or len(payload) != width + 1:
        raise InvalidCursor(f"{cursor!r} is not a valid cursor")
    if payload[0] != signature:
        raise InvalidCursor("the cursor was made for a different orderBy; paginate with the same ordering")
    values = payload[1:]
    if not all(v is None or isinstance(v, str) for v in values) or values[-1] is None:
        raise InvalidCursor(f"{cursor!r} is not a valid cursor")
    return values


def after_sql(
    columns: tuple[Column, ...], descending: tuple[bool, ...], values: list[str | None], alias: str, params: SqlParams
) -> str:
    """Rows strictly after ``values`` in the given order (PostgreSQL's default
    NULL placement: last when ascending, first when descending). ``values`` has
    one entry per column: ``decode_cursor`` refuses a cursor of another width."""
    bound = [None if v is None else params.bind(v, c.sql_type) for c, v in zip(columns, values, strict=True)]
    same_direction = len(set(descending)) == 1
    if same_direction and all(v is not None and not c.nullable for c, v in zip(columns, values, strict=True)):
        # A row comparison lets PostgreSQL walk the composite index directly.
        lhs = ", ".join(c.render(alias) for c in columns)
        rhs = ", ".join(b for b in bound if b is not None)  # every value is bound here
        return f"(({lhs}) {'<' if descending[0] else '>'} ({rhs}))"
    ors = []
    for i, (column, desc, value) in enumerate(zip(columns, descending, bound, strict=True)):
        parts = [_equal(c.render(alias), v) for c, v in zip(columns[:i], bound[:i], strict=True)]
        parts.append(_strictly_after(column, desc, value, alias))
        ors.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(ors) + ")"


def _equal(expr: str, value: str | None) -> str:
    return f"{expr} IS NULL" if value is None else f"{expr} = {value}"


def _strictly_after(column: Column, descending: bool, value: str | None, alias: str) -> str:
    expr = column.render(alias)
    if value is None:
        return f"{expr} IS NOT NULL" if descending else "FALSE"
    if descending:
        return f"{expr} < {value}"
    return f"({expr} > {value} OR {expr} IS NULL)" if column.nullable else f"{expr} > {value}"
