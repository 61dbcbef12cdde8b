"""Field resolution for planned types.

The planner returns, for each root field, JSON keyed by response key (alias or
name). Every field of a planned type therefore resolves by picking its response
key out of its parent's dict — installed directly on graphql-core's fields, so
no per-field wrapper runs.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema


def _by_response_key(source: Any, info: Any, **_: Any) -> Any:
    return source.get(info.path.key)


def _type_from_payload(value: Any, info: Any, abstract_type: Any) -> str:
    return value["__typename"]


def install_planned_resolvers(schema: GraphQLSchema, root_type_names: set[str]) -> None:
    """Resolve every non-root object type from planner JSON; ``Node`` by ``__typename``."""
    for named in schema.type_map.values():
        if named.name.startswith("__") or named.name in root_type_names:
            continue
        if isinstance(named, GraphQLObjectType):
            named.is_type_of = None
            for field in named.fields.values():
                field.resolve = _by_response_key
        elif isinstance(named, GraphQLInterfaceType):
            named.resolve_type = _type_from_payload
