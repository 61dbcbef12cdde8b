"""Relay pagination arguments → a validated page request."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidPagination, PageSizeExceeded
from resolvers.planner.catalog import ID_COLUMN, Column, Entity
from resolvers.planner.cursors import decode_cursor


@dataclass(frozen=True)
class PageLimits:
    default: int = 50
    maximum: int = 100
    max_groups: int = 1000


@dataclass(frozen=True)
class PageRequest:
    size: int
    forward: bool
    cursor: list[str | None] | None
    columns: tuple[Column, ...]
    descending: tuple[bool, ...]
    signature: str
    # How many leading columns the SQL orders by: fewer than all when those are already
    # unique among the rows read (``unique_prefix``). Cursors still hold every column.
    ordered_by: int | None = None

    @property
    def scan_descending(self) -> tuple[bool, ...]:
        """The direction rows are read in: reversed when paginating backwards."""
        return self.descending if self.forward else tuple(not d for d in self.descending)

    @property
    def scan_order(self) -> tuple[tuple[Column, bool], ...]:
        """The columns the SQL orders the scan by, each with whether it is descending."""
        order = tuple(zip(self.columns, self.scan_descending, strict=True))
        return order if self.ordered_by is None else order[: self.ordered_by]


def unique_prefix(entity: Entity, columns: tuple[Column, ...], shared: frozenset[str]) -> int | None:
    """How many leading ``columns`` already order rows that all share the values of the
    ``shared`` columns (a nested list's foreign key) totally, when fewer than all do: the
    columns after them only repeat that order, and an ORDER BY without them can be read
    straight from a unique index (order lines by ``line_no`` within their order, not
    ``line_no, id``). ``None``: every column is needed."""
    named = set(shared)
    for i, column in enumerate(columns[:-1]):
        if column.name is None or column.nullable:
            return None
        named.add(column.name)
        if any(named.issuperset(key) for key in entity.unique_keys):
            return i + 1
    return None


def _name(value: Any) -> str:
    return value.name if isinstance(value, enum.Enum) else str(value)


def page_request(entity: Entity, args: dict[str, Any], limits: PageLimits) -> PageRequest:
    first, last = args.get("first"), args.get("last")
    after, before = args.get("after"), args.get("before")
    if first is not None and last is not None:
        raise InvalidPagination("pass `first` or `last`, not both", field=["first"])
    if first is not None and before is not None:
        raise InvalidPagination("`first` pages forward and cannot be combined with `before`", field=["before"])
    if last is not None and after is not None:
        raise InvalidPagination("`last` pages backward and cannot be combined with `after`", field=["after"])
    if after is not None and before is not None:
        raise InvalidPagination("pass `after` or `before`, not both", field=["before"])
    forward = last is None and before is None
    size = first if forward else last
    which = "first" if forward else "last"
    if size is None:
        size = limits.default
    if size < 0:
        raise InvalidPagination(f"`{which}` must not be negative", field=[which])
    if size > limits.maximum:
        raise PageSizeExceeded(f"`{which}` may be at most {limits.maximum}, got {size}", field=[which])

    columns: list[Column] = []
    descending: list[bool] = []
    signature_parts: list[str] = []
    order_by = args.get("orderBy") or [{"field": entity.default_sort[0], "direction": entity.default_sort[1]}]
    for item in order_by:
        field, direction = _name(item["field"]), _name(item.get("direction") or "ASC")
        sort_columns = entity.sorts[field]
        columns.extend(sort_columns)
        descending.extend([direction == "DESC"] * len(sort_columns))
        signature_parts.append(f"{field}:{direction}")
    # The id makes every order total; it follows the first key's direction so a
    # one-key order stays a single index range.
    columns.append(ID_COLUMN)
    descending.append(descending[0] if descending else False)
    signature = ",".join(signature_parts)

    cursor_text = after if forward else before
    cursor = decode_cursor(cursor_text, signature, len(columns)) if cursor_text is not None else None
    return PageRequest(size, forward, cursor, tuple(columns), tuple(descending), signature)
