"""Field resolution for planned types.

The planner returns, for each root field, JSON keyed by response key (alias or
name). Every field of a planned type therefore resolves by picking its response
key out of its parent's dict — installed directly on graphql-core's fields, so
no per-field wrapper runs.

The fields the policy table names get one check more: where the planner
withheld the value it wrote a marker key beside it, and the field resolves to
null with a FORBIDDEN error at its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLInterfaceType, GraphQLObjectType, GraphQLSchema

from app.auth import policy
from app.errors import Forbidden
from resolvers.planner.compile import DENIED_SUFFIX

# An object as the planner returns it: JSON keyed by response key. Field functions
# return it where their GraphQL type is an object type (declared with strawberry's
# ``graphql_type``), and the resolvers installed below read it.
PlannedObject = Mapping[str, Any]


def _by_response_key(source: Any, info: Any, **_: Any) -> Any:
    return source.get(info.path.key)


def withheld_message(type_name: str, field_name: str) -> str:
    return f"you may not read {type_name}.{field_name} here"


def _guarded_by_response_key(source: Any, info: Any, **_: Any) -> Any:
    key = info.path.key
    if source.get(key + DENIED_SUFFIX):
        raise Forbidden(withheld_message(info.parent_type.name, info.field_name))
    return source.get(key)


def _type_from_payload(value: Any, info: Any, abstract_type: Any) -> str:
    typename: str = value["__typename"]  # selected by the planner for type resolution
    return typename


def guarded_fields(type_name: str) -> frozenset[str]:
    """Fields that may be withheld: the policy's sensitive fields, and the same
    names as aggregate measures (withheld for groups too small to hide a row)."""
    if type_name.endswith("Measures"):
        return frozenset(policy.FIELDS.get(type_name.removesuffix("Measures"), {}))
    return frozenset(policy.FIELDS.get(type_name, {}))


def install_planned_resolvers(schema: GraphQLSchema, root_type_names: set[str]) -> None:
    """Resolve every non-root object type from planner JSON; ``Node`` by ``__typename``."""
    for named in schema.type_map.values():
        if named.name.startswith("__") or named.name in root_type_names:
            continue
        if isinstance(named, GraphQLObjectType):
            named.is_type_of = None
            guarded = guarded_fields(named.name)
            for name, field in named.fields.items():
                field.resolve = _guarded_by_response_key if name in guarded else _by_response_key
        elif isinstance(named, GraphQLInterfaceType):
            named.resolve_type = _type_from_payload
