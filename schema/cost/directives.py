"""The GraphQL cost directives (IBM's "GraphQL Cost Directives" specification), declared in the
schema so clients read the weights and list sizes the server counts with from the SDL."""

from __future__ import annotations

import strawberry
from strawberry.schema_directive import Location


@strawberry.schema_directive(
    name="cost",
    locations=[
        Location.ARGUMENT_DEFINITION,
        Location.ENUM,
        Location.FIELD_DEFINITION,
        Location.INPUT_FIELD_DEFINITION,
        Location.OBJECT,
        Location.SCALAR,
    ],
    description="The weight of a field or type in an operation's cost (a number, as text).",
)
class Cost:
    weight: str


@strawberry.schema_directive(
    name="listSize",
    locations=[Location.FIELD_DEFINITION],
    description=(
        "How many items a list field (or the sized fields of a connection) holds: the value of the"
        " first slicing argument given, else assumedSize."
    ),
)
class ListSize:
    assumed_size: int | None = None
    slicing_arguments: list[str] | None = None
    sized_fields: list[str] | None = None
    require_one_slicing_argument: bool = True


# Connections: `first`/`last` slice the page's `edges` and `nodes`; neither is required
# (a page defaults to the configured default size). Edges and page info come with the rows
# the connection reads, so they weigh nothing of their own.
CONNECTION_LIST_SIZE = ListSize(
    assumed_size=50,
    slicing_arguments=["first", "last"],
    sized_fields=["edges", "nodes"],
    require_one_slicing_argument=False,
)
FREE = Cost(weight="0")
