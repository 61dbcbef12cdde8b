"""FORBIDDEN errors for the fast path, exactly as the standard execution makes them.

Where the planner withheld a value it wrote a marker key beside it
(``"salary!": true``). The standard path's guarded resolvers raise one error per
marked field while graphql-core completes the result depth-first, in selection
order; this walk visits the planner's JSON in that same order, makes the same
errors (message, locations, path, code) and takes the markers out, so the two
ways answer with the same bytes.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLObjectType, GraphQLSchema, get_named_type

from resolvers.planner.compile import DENIED_SUFFIX
from resolvers.planner.selection import FieldSelection
from schema.planned import guarded_fields, withheld_message

# json_build_object takes 100 arguments (50 keys); wider objects are merged as
# jsonb, which reorders keys, so such selections take the standard way.
MAX_OBJECT_WIDTH = 50


def forbidden(type_name: str, field_name: str, nodes: Any, path: list[Any]) -> GraphQLError:
    return GraphQLError(
        withheld_message(type_name, field_name),
        nodes=list(nodes) or None,
        path=path,
        extensions={"code": "FORBIDDEN"},
    )


def fits_in_one_object(object_type: GraphQLObjectType, selection: FieldSelection) -> bool:
    """Whether every object of the selection, marker keys included, stays within
    ``json_build_object``'s width, so PostgreSQL keeps the selection's key order."""
    guarded = guarded_fields(object_type.name)
    width = sum(2 if child.name in guarded else 1 for child in selection.selections)
    if width > MAX_OBJECT_WIDTH:
        return False
    for child in selection.selections:
        if child.selections:
            named = get_named_type(object_type.fields[child.name].type)
            if isinstance(named, GraphQLObjectType) and not fits_in_one_object(named, child):
                return False
    return True


def collect_withheld(
    schema: GraphQLSchema, data: dict[str, Any], roots: tuple[FieldSelection, ...]
) -> list[GraphQLError]:
    """The FORBIDDEN errors of a planned answer, in execution order; removes the markers."""
    errors: list[GraphQLError] = []
    query_type = schema.query_type
    assert query_type is not None  # bizgraph's schema always has a Query type
    for root in roots:
        named = get_named_type(query_type.fields[root.name].type)
        _value(data.get(root.key), named, root, [root.key], errors)
    return errors


def _value(value: Any, named: Any, selection: FieldSelection, path: list[Any], errors: list[GraphQLError]) -> None:
    if value is None or not selection.selections or not isinstance(named, GraphQLObjectType):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _value(item, named, selection, [*path, index], errors)
        return
    _object(value, named, selection.selections, path, errors)


def _object(
    value: dict[str, Any],
    object_type: GraphQLObjectType,
    selections: tuple[FieldSelection, ...],
    path: list[Any],
    errors: list[GraphQLError],
) -> None:
    for child in selections:
        if child.name == "__typename":
            continue
        marker = value.pop(child.key + DENIED_SUFFIX, False)
        if marker:
            errors.append(forbidden(object_type.name, child.name, child.origin, [*path, child.key]))
        if child.selections:
            named = get_named_type(object_type.fields[child.name].type)
            _value(value.get(child.key), named, child, [*path, child.key], errors)
