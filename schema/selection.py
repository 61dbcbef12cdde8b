"""GraphQL selection (fragments, aliases, variables, @skip/@include) → the
planner's runtime-free ``FieldSelection`` tree.

graphql-core has already validated the document; this walk only expands it for
one concrete type at a time, as execution would.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.language import BooleanValueNode, VariableNode

from resolvers.planner.selection import FieldSelection


class SelectionReader:
    """Reads selections of one operation (its fragments and variable values)."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, Any], variables: dict[str, Any]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self._variable_values = VariableValues({}, variables)

    @classmethod
    def from_info(cls, info: Any) -> SelectionReader:
        raw = getattr(info, "_raw_info", info)
        return cls(raw.schema, raw.fragments, raw.variable_values)

    def field(self, parent: GraphQLObjectType, nodes: list[FieldNode], key: str) -> FieldSelection:
        """The selection of the field that ``nodes`` (all with response key ``key``) select."""
        name = nodes[0].name.value
        definition = parent.fields[name]
        args = get_argument_values(definition, nodes[0], self._variable_values)
        named = get_named_type(definition.type)
        children: tuple[FieldSelection, ...] = ()
        if isinstance(named, GraphQLObjectType):
            children = self.fields_of(named, [n.selection_set for n in nodes if n.selection_set])
        return FieldSelection(key=key, name=name, args=args, selections=children, origin=tuple(nodes))

    def fields_of(
        self, runtime_type: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> tuple[FieldSelection, ...]:
        grouped: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            self._collect(runtime_type, selection_set, grouped, set())
        result = []
        for key, nodes in grouped.items():
            if nodes[0].name.value.startswith("__"):
                result.append(FieldSelection(key=key, name=nodes[0].name.value))
            else:
                result.append(self.field(runtime_type, nodes, key))
        return tuple(result)

    def _collect(
        self,
        runtime_type: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, runtime_type):
                    self._collect(runtime_type, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self._applies(fragment.type_condition, runtime_type):
                    self._collect(runtime_type, fragment.selection_set, grouped, visited)

    def _applies(self, condition: Any, runtime_type: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        conditional = self.schema.get_type(condition.name.value)
        if conditional is runtime_type:
            return True
        if isinstance(conditional, GraphQLInterfaceType):
            return self.schema.is_sub_type(conditional, runtime_type)
        return False

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            condition = self._directive_condition(directive)
            if (name == "skip" and condition) or (name == "include" and not condition):
                return False
        return True

    def _directive_condition(self, directive: Any) -> bool:
        for argument in directive.arguments:
            if argument.name.value == "if":
                value = argument.value
                if isinstance(value, VariableNode):
                    return bool(self.variables.get(value.name.value))
                if isinstance(value, BooleanValueNode):
                    return value.value
        return False


def root_selection(info: Any) -> FieldSelection:
    """The selection of the field being resolved (a root field of the operation)."""
    raw = getattr(info, "_raw_info", info)
    return SelectionReader.from_info(raw).field(raw.parent_type, list(raw.field_nodes), raw.path.key)
