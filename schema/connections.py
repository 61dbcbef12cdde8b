"""``<Type>Edge`` and ``<Type>Connection`` for each node type."""

from __future__ import annotations

from typing import Any

import strawberry

from schema.cost.directives import FREE
from schema.pagination import PageInfo


def _list_of(item_type: Any) -> Any:
    """``List[item_type]`` for annotations made at run time (item_type is a variable,
    which the type checker does not take as a type unless it is declared Any)."""
    return list[item_type]


def connection_types(node_type: type, plural: str) -> tuple[type, type]:
    name = node_type.__name__
    edge = strawberry.type(
        type(
            f"{name}Edge",
            (),
            {
                "__annotations__": {"cursor": str, "node": node_type},
                "cursor": strawberry.field(description="Opaque position of this edge; pass it to `after`/`before`."),
                "node": strawberry.field(description=f"The {name}."),
            },
        ),
        description=f"One {name} in a page, with its cursor.",
        # An edge is the row its node is read from: the node carries the weight.
        directives=[FREE],
    )
    annotations: dict[str, Any] = {
        "edges": _list_of(edge),
        "nodes": _list_of(node_type),
        "page_info": PageInfo,
        "total_count": int,
    }
    connection = strawberry.type(
        type(
            f"{name}Connection",
            (),
            {
                "__annotations__": annotations,
                "edges": strawberry.field(description="The page's edges, in order."),
                "nodes": strawberry.field(description="The page's nodes, in order (edges without cursors)."),
                "page_info": strawberry.field(description="Where this page sits in the list."),
                "total_count": strawberry.field(
                    description=f"How many {plural} match the filter, over all pages (counted only when asked for)."
                ),
            },
        ),
        description=f"A page of {plural}.",
    )
    return edge, connection
