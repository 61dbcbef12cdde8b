"""Relay connections: ``PageInfo``, sort direction, and field factories whose
arguments are the same on every connection."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from strawberry import UNSET

from schema.context import reads
from schema.cost.directives import CONNECTION_LIST_SIZE, FREE
from schema.planned import PlannedObject
from schema.selection import root_selection


@strawberry.enum(description="Sort direction.")
class SortDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type(description="Where a page sits in its list (Relay cursor connections).", directives=[FREE])
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow the last edge of this page.")
    has_previous_page: bool = strawberry.field(description="Items precede the first edge of this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge, if any.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge, if any.")


PAGINATION_HELP = (
    " Pages forward with `first`/`after` or backward with `last`/`before`;"
    " `first`/`last` default to 50 and may be at most 100."
)


def _lazy(module: str, name: str) -> Any:
    return Annotated[name, strawberry.lazy(module)]


# A connection field's function: strawberry reads its arguments and type from the
# annotations set below; the planner reads the arguments from the selection.
ConnectionResolver = Callable[..., Any]


def _connection_resolver(module: str, node: str, is_root: bool) -> ConnectionResolver:
    # Types made at run time, for strawberry; declared Any so that the type checker
    # accepts them inside the annotations below.
    connection: Any = _lazy(f"schema.{module}.types", f"{node}Connection")
    filter_type: Any = _lazy(f"schema.{module}.inputs", f"{node}Filter")
    sort_type: Any = _lazy(f"schema.{module}.inputs", f"{node}Sort")
    resolve = _root_resolver(node) if is_root else _nested_resolver()
    resolve.__annotations__ = {
        "info": strawberry.Info,
        "first": int | None,
        "after": str | None,
        "last": int | None,
        "before": str | None,
        "filter": filter_type | None,
        "order_by": list[sort_type] | None,
        # Root connections are nullable so one failing root field leaves the others' data intact.
        "return": connection | None if is_root else connection,
    }
    resolve.__name__ = f"resolve_{node.lower()}_connection"
    return resolve


# strawberry reads the arguments' types from the annotations _connection_resolver
# sets (these here are for the type checker); each call makes a new function, since
# those annotations and the name differ from field to field.
def _root_resolver(node: str) -> ConnectionResolver:
    async def resolve(
        root: object,
        info: strawberry.Info,
        first: int | None = UNSET,
        after: str | None = UNSET,
        last: int | None = UNSET,
        before: str | None = UNSET,
        filter: Any = UNSET,  # the node's Filter input
        order_by: Any = UNSET,  # a list of the node's Sort inputs
    ) -> PlannedObject:
        return await reads(info).connection(node, root_selection(info))

    return resolve


def _nested_resolver() -> ConnectionResolver:
    def resolve(
        root: PlannedObject,
        info: strawberry.Info,
        first: int | None = UNSET,
        after: str | None = UNSET,
        last: int | None = UNSET,
        before: str | None = UNSET,
        filter: Any = UNSET,  # the node's Filter input
        order_by: Any = UNSET,  # a list of the node's Sort inputs
    ) -> PlannedObject:
        # Planned by the root field's statement; here we only pick it out.
        key = info.path.key
        assert isinstance(key, str)  # a field's response key (list indices are ints)
        connection: PlannedObject = root[key]
        return connection

    return resolve


def connection_field(module: str, node: str, description: str) -> Any:
    """A nested connection, planned into its parent's SQL statement."""
    return strawberry.field(
        resolver=_connection_resolver(module, node, False),
        description=description + PAGINATION_HELP,
        directives=[CONNECTION_LIST_SIZE],
    )


def root_connection_field(module: str, node: str, description: str) -> Any:
    """A root connection: one SQL statement for the whole selection below it."""
    return strawberry.field(
        resolver=_connection_resolver(module, node, True),
        description=description + PAGINATION_HELP,
        directives=[CONNECTION_LIST_SIZE],
    )
