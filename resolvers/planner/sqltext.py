"""A tiny builder for parameterised SQL text.

Values always travel as bind parameters (psycopg's ``%(name)s``); identifiers
and fragments come only from the catalog, never from a request.
"""

from __future__ import annotations

from typing import Any


class SqlParams:
    """Collects bind parameters and hands out fresh table aliases for one statement."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self._aliases = 0
        self._last: str | None = None

    def bind(self, value: Any, cast: str | None = None) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        self._last = name
        placeholder = f"%({name})s"
        return f"{placeholder}::{cast}" if cast else placeholder

    @property
    def last_name(self) -> str:
        """The name the latest ``bind`` gave its value."""
        if self._last is None:
            raise ValueError("nothing was bound yet")
        return self._last

    def alias(self, prefix: str = "t") -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"


def quote_literal(text: str) -> str:
    """A SQL string literal for catalog-defined text (type names, sort signatures)."""
    if "%" in text or "\\" in text:
        raise ValueError(f"catalog literal may not contain % or backslash: {text!r}")
    return "'" + text.replace("'", "''") + "'"


# PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN - 1) and a select list
# holds at most 1664 entries: past either, an object's keys cannot be column names.
MAX_COLUMN_NAME_BYTES = 63
MAX_COLUMNS = 1664
# How a row becomes a compact JSON object (below); nested objects reuse the name, each
# shadowing the outer one inside its own subquery only.
ROW_ALIAS = "_o"


def json_object(pairs: list[tuple[str, str]]) -> str:
    """A JSON object of ``pairs`` (key, SQL value), keys in order, as *compact* JSON text.

    ``row_to_json`` over a one-row subquery whose columns are named by the keys writes
    ``{"k":v,...}`` without a space, byte for byte what the API's own encoder writes for the
    same value, so a planned result can go into a response as PostgreSQL wrote it
    (``schema/fastpath.py``); ``json_build_object`` writes ``{"k" : v, ...}``. It is also
    cheaper per row. An aggregate among the values still aggregates the rows of the query
    around it: its arguments reference only that query's columns, which makes it theirs.

    Keys a column name cannot carry fall back to ``json_build_object`` (not compact;
    ``is_compact`` tells).
    """
    if not pairs:
        return "'{}'::json"
    if len(pairs) <= MAX_COLUMNS and all(_fits_a_column_name(key) for key, _ in pairs):
        columns = ", ".join(f'{value} AS "{key}"' for key, value in pairs)
        return f"(SELECT row_to_json({ROW_ALIAS}) FROM (SELECT {columns}) {ROW_ALIAS})"
    return _json_build_object(pairs)


def json_select(pairs: list[tuple[str, str]], source: str) -> str:
    """A statement whose value is the object of ``pairs`` for each row of ``source`` (``FROM``
    and ``WHERE`` text): one subquery less per row than ``SELECT json_object(pairs) FROM
    source``, which builds each row's object in a subquery of its own."""
    if pairs and len(pairs) <= MAX_COLUMNS and all(_fits_a_column_name(key) for key, _ in pairs):
        columns = ", ".join(f'{value} AS "{key}"' for key, value in pairs)
        return f"SELECT row_to_json({ROW_ALIAS}) FROM (SELECT {columns} FROM {source}) {ROW_ALIAS}"
    return f"SELECT {json_object(pairs)} FROM {source}"


def json_array_agg(value: str, order: str, *, where: str = "") -> str:
    """The aggregate of ``value`` over the query's rows as a compact JSON array (``[]`` for
    none): ``json_agg`` would write ``[a, b]``. ``order``: empty for the rows' own order."""
    ordered = f" ORDER BY {order}" if order else ""
    filtered = f" FILTER (WHERE {where})" if where else ""
    return f"COALESCE(array_to_json(array_agg({value}{ordered}){filtered}), '[]'::json)"


def is_compact(sql: str) -> bool:
    """Whether the JSON a statement builds with these helpers is compact throughout (no
    key fell back to ``json_build_object``)."""
    return "json_build_object(" not in sql


def _fits_a_column_name(key: str) -> bool:
    # Response keys are GraphQL names (plus the planner's "!" marker): never a quote.
    return '"' not in key and len(key.encode()) <= MAX_COLUMN_NAME_BYTES


def _json_build_object(pairs: list[tuple[str, str]]) -> str:
    """``json_build_object`` for any number of keys: PostgreSQL functions take at most 100
    arguments (50 keys); wider objects are built in chunks and merged as jsonb."""
    chunks = [pairs[i : i + 50] for i in range(0, len(pairs), 50)]
    built = ["json_build_object(" + ", ".join(f"{quote_literal(k)}, {v}" for k, v in chunk) + ")" for chunk in chunks]
    if len(built) == 1:
        return built[0]
    return "(" + " || ".join(f"{b}::jsonb" for b in built) + ")::json"
