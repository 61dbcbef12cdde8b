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

    def bind(self, value: Any, cast: str | None = None) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        placeholder = f"%({name})s"
        return f"{placeholder}::{cast}" if cast else placeholder

    def alias(self, prefix: str = "t") -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"


def quote_literal(text: str) -> str:
    """A SQL string literal for catalog-defined text (type names, sort signatures)."""
    if "%" in text or "\\" in text:
        raise ValueError(f"catalog literal may not contain % or backslash: {text!r}")
    return "'" + text.replace("'", "''") + "'"


def json_object(pairs: list[tuple[str, str]]) -> str:
    """``json_build_object`` for any number of keys.

    PostgreSQL functions take at most 100 arguments (50 keys); wider objects are
    built in chunks and merged as jsonb.
    """
    if not pairs:
        return "'{}'::json"
    chunks = [pairs[i : i + 50] for i in range(0, len(pairs), 50)]
    built = ["json_build_object(" + ", ".join(f"{quote_literal(k)}, {v}" for k, v in chunk) + ")" for chunk in chunks]
    if len(built) == 1:
        return built[0]
    return "(" + " || ".join(f"{b}::jsonb" for b in built) + ")::json"
