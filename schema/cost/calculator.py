"""The static cost of an operation, from its selection, its arguments and the schema's cost
directives, before anything runs.

A field costs its weight (``@cost`` on the field, else on its type; 1 for an object, 0 for a
scalar), and a list multiplies what it holds by its size: a connection's page (``@listSize``
with slicing arguments: ``first``/``last``, capped at the maximum page size, else the default
page size) multiplies its ``edges`` and ``nodes``; another list with ``@listSize`` counts
``assumedSize`` items; a list without one counts as one item (small, fixed lists). Branches
on different types (fragments) are added up: an upper bound.

Linear in the document: each field node is visited once, and each fragment once per way it
is sized (a fragment's cost is kept as ``fixed + size × per item``), so fragments spread many
times cost nothing more. Recursion is bounded by the depth limit, checked before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

from schema.cost.directives import Cost, ListSize

# A selection's cost as ``fixed + size × per_item``: ``per_item`` gathers the fields its
# parent's list size multiplies (a connection's ``edges`` and ``nodes``).
Split = tuple[int, int]
NO_SIZED_FIELDS: frozenset[str] = frozenset()
D = TypeVar("D")


@dataclass(frozen=True)
class PageSizes:
    default: int
    maximum: int


class CostCalculator:
    def __init__(self, schema: GraphQLSchema, pages: PageSizes) -> None:
        self.schema = schema
        self.pages = pages

    def operation_cost(
        self,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> int:
        root = self.schema.get_root_type(operation.operation)
        if root is None:  # refused by validation before this is asked
            return 0
        walk = _Walk(self, fragments, variables)
        fixed, _ = walk.selection(root, operation.selection_set, NO_SIZED_FIELDS)
        return fixed

    def field_cost(
        self,
        parent: GraphQLNamedType,
        nodes: Sequence[FieldNode],
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> int:
        """What one field of ``parent`` costs (all ``nodes`` selecting it under one response key)."""
        walk = _Walk(self, fragments, variables)
        return sum(walk.field(parent, node) for node in nodes)


class _Walk:
    """One operation's walk, with its variables and its fragments' costs so far."""

    def __init__(
        self, calculator: CostCalculator, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ) -> None:
        self.calculator = calculator
        self.schema = calculator.schema
        self.fragments = fragments
        self.variables = dict(variables)
        self.memo: dict[tuple[str, frozenset[str]], Split] = {}

    def selection(self, parent: GraphQLNamedType, selection_set: SelectionSetNode, sized: frozenset[str]) -> Split:
        fixed = per_item = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                cost = self.field(parent, node)
                if node.name.value in sized:
                    per_item += cost
                else:
                    fixed += cost
                continue
            if isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                part = self.selection(inner or parent, node.selection_set, sized)
            elif isinstance(node, FragmentSpreadNode):
                part = self.fragment(node.name.value, sized)
            else:
                continue
            fixed += part[0]
            per_item += part[1]
        return fixed, per_item

    def fragment(self, name: str, sized: frozenset[str]) -> Split:
        key = (name, sized)
        known = self.memo.get(key)
        if known is None:
            definition = self.fragments.get(name)
            on = self.schema.get_type(definition.type_condition.name.value) if definition else None
            known = self.selection(on, definition.selection_set, sized) if definition and on else (0, 0)
            self.memo[key] = known
        return known

    def field(self, parent: GraphQLNamedType, node: FieldNode) -> int:
        definition = self._definition(parent, node.name.value)
        if definition is None:  # __typename, or unknown (refused by validation)
            return 0
        named = get_named_type(definition.type)
        composite = isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)) or hasattr(named, "types")
        weight = _weight(definition, named, default=1 if composite else 0)
        list_size = _directive(definition, ListSize)
        children: Split = (0, 0)
        if node.selection_set is not None:
            sized = frozenset(list_size.sized_fields or ()) if list_size else NO_SIZED_FIELDS
            children = self.selection(named, node.selection_set, sized)
        if list_size is not None and list_size.sized_fields:
            # A connection: one object, whose sized fields hold the page.
            return weight + children[0] + self._size(list_size, node) * children[1]
        items = self._size(list_size, node) if list_size is not None else 1
        return items * (weight + children[0] + children[1])

    def _definition(self, parent: GraphQLNamedType, name: str) -> GraphQLField | None:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        fields = getattr(parent, "fields", None)
        return fields.get(name) if isinstance(fields, dict) else None

    def _size(self, list_size: ListSize, node: FieldNode) -> int:
        if not list_size.slicing_arguments:
            return list_size.assumed_size or 1
        pages = self.calculator.pages
        given = [
            value
            for argument in node.arguments or ()
            if argument.name.value in list_size.slicing_arguments
            and isinstance(value := value_from_ast(argument.value, GraphQLInt, self.variables), int)
        ]
        if not given:
            return pages.default
        return max(0, min(max(given), pages.maximum))


def _weight(definition: GraphQLField, named: GraphQLNamedType, *, default: int) -> int:
    cost = _directive(definition, Cost) or _type_directive(named, Cost)
    return int(cost.weight) if cost is not None else default


def _directive(definition: GraphQLField, kind: type[D]) -> D | None:
    strawberry_field = (definition.extensions or {}).get("strawberry-definition")
    return _first_of(getattr(strawberry_field, "directives", ()), kind)


def _type_directive(named: GraphQLNamedType, kind: type[D]) -> D | None:
    strawberry_type = (named.extensions or {}).get("strawberry-definition")
    return _first_of(getattr(strawberry_type, "directives", ()), kind)


def _first_of(directives: Any, kind: type[D]) -> D | None:
    for directive in directives or ():
        if isinstance(directive, kind):
            return directive
    return None
