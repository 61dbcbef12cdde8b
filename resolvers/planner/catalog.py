"""How each GraphQL type maps onto SQL: the planner's only knowledge of the schema.

An ``Entity`` names its table and, for every field the API exposes, how to
produce it: a column expression, the global ID, a to-one relation or a to-many
connection. Column templates use ``{t}`` for the table alias of the row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["text", "int", "bigint", "decimal", "datetime", "date", "bool", "enum", "json"]

SQL_TYPES: dict[str, str] = {
    "text": "text",
    "enum": "text",
    "int": "integer",
    "bigint": "bigint",
    "decimal": "numeric",
    "datetime": "timestamptz",
    "date": "date",
    "bool": "boolean",
    "json": "jsonb",
}


@dataclass(frozen=True)
class Column:
    """A scalar read from the row; ``sql`` is a template over the alias ``{t}``.

    ``description`` is plain text for the API's filter input field when the
    column is one of an entity's ``filters``; the planner never reads it.
    """

    sql: str
    kind: Kind
    nullable: bool = False
    description: str | None = field(default=None, compare=False)
    # False for stored ``jsonb``: PostgreSQL writes it with spaces (``{"a": 1}``), so JSON
    # holding it is not the API's compact text and must be re-encoded (``Plan.compact``).
    compact: bool = field(default=True, compare=False)

    def render(self, alias: str) -> str:
        return self.sql.format(t=alias)

    @property
    def name(self) -> str | None:
        """The table column it is, if it is one (not an expression)."""
        plain = re.fullmatch(r"\{t\}\.(\w+)", self.sql)
        return plain.group(1) if plain else None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]

    def as_json_value(self, alias: str) -> str:
        """The JSON value exactly as the API serializes it, so a response can be
        PostgreSQL's JSON as is: Decimal as a string (no digit lost), enums as the
        upper-case names of their stored lower-case values."""
        expr = self.render(alias)
        if self.kind == "decimal":
            return f"({expr})::text"
        if self.kind == "enum":
            return f"upper({expr})"
        return expr


def col(
    name: str, kind: Kind, nullable: bool = False, description: str | None = None, *, compact: bool = True
) -> Column:
    return Column("{t}." + name, kind, nullable, description, compact)


@dataclass(frozen=True)
class GlobalId:
    """The Relay global ID of the row (``base64("<Type>:<id>")``)."""


@dataclass(frozen=True)
class ForeignId:
    """The global ID of a referenced row, without fetching it (``description``: as for ``Column``)."""

    target: str
    column: str
    description: str | None = field(default=None, compare=False)

    def render(self, alias: str) -> str:
        return f"{alias}.{self.column}"


@dataclass(frozen=True)
class ToOne:
    """A single related row: ``target.<remote> = <alias>.<local>`` (and ``where``,
    a template over the related row's alias ``{c}``; ``description``: as for ``Column``)."""

    target: str
    local: str
    remote: str = "id"
    where: str | None = None
    description: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Embedded:
    """A value object stored in the row's own columns (e.g. an address)."""

    type_name: str
    fields: dict[str, Column]


@dataclass(frozen=True)
class ToMany:
    """A connection of related rows: ``child.<remote> = <alias>.<local>`` (and
    ``where``, a template over the child's alias ``{c}``)."""

    target: str
    remote: str
    local: str = "id"
    where: str | None = None


@dataclass(frozen=True)
class Transitions:
    """The lifecycle actions the principal may perform on the row now (``app/workflows.py``)."""

    machine: str


Field = Column | GlobalId | ForeignId | ToOne | ToMany | Embedded | Transitions


@dataclass(frozen=True)
class SortKey:
    column: Column
    descending: bool = False


@dataclass(frozen=True)
class Wording:
    """How the API speaks of an entity's rows when it describes their filter and
    sort inputs, in plain words; the planner never reads it.

    ``plural`` names the rows ("order lines"); the usual sentences are built
    from it. ``sort_key`` (what one ``orderBy`` key is) and ``sort_fields`` (what
    the rows can be sorted by) replace the usual sentence where it does not fit.
    """

    plural: str
    sort_key: str | None = None
    sort_fields: str | None = None


@dataclass(frozen=True)
class Entity:
    name: str
    table: str
    fields: dict[str, Field]
    # Sort enum value → the columns it orders by; the id is always appended as
    # the tiebreaker so every order is total and keyset cursors are exact.
    sorts: dict[str, tuple[Column, ...]]
    default_sort: tuple[str, str] = ("ID", "ASC")
    # Filter input field → what it filters on (a column, a foreign id, or a relation),
    # each with the description the API shows for it.
    filters: dict[str, Column | ForeignId | ToOne] = field(default_factory=dict)
    # Rows that exist for nobody yet, whatever the policy (a template over ``{t}``).
    where: str | None = None
    # The words the schema's filter and sort inputs, derived from this entity, describe its rows with.
    wording: Wording | None = None
    # Columns (NOT NULL) that a UNIQUE constraint makes unique together, besides the id: a
    # page whose rows share some of them and are sorted by the rest needs no tiebreaker.
    unique_keys: tuple[tuple[str, ...], ...] = ()


ID_COLUMN = col("id", "bigint")


class Catalog:
    """All entities by GraphQL type name."""

    def __init__(self, entities: list[Entity]) -> None:
        self.entities = {entity.name: entity for entity in entities}

    def __getitem__(self, name: str) -> Entity:
        return self.entities[name]

    def __contains__(self, name: str) -> bool:
        return name in self.entities
