"""How deep an operation's fields nest, fragments included.

Each field is one level; ``__typename`` and the introspection fields (``__schema``,
``__type``) are not counted, nor is anything below them: introspection has its own gate and
its depth is bounded by the schema. The walk uses its own stack (no recursion, so no
document can exhaust Python's) and stops at the first level past the maximum. A fragment
is walked again only when it is reached at a greater depth than before, so fragments spread
many times cost at most ``maximum`` walks each, never an exponential number.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    BREAK,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from app.errors import TooDeep
from schema.limits.rules import LimitRule


class DepthLimit(LimitRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> Any:
        fragments = {
            definition.name.value: definition
            for definition in self.context.document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        too_deep = _first_field_deeper_than(self.maximum, node.selection_set, fragments)
        if too_deep is None:
            return None
        self.refuse(
            TooDeep(
                f"The operation nests fields more than {self.maximum} levels deep",
                setting="BIZGRAPH_MAX_DEPTH",
                maximum=self.maximum,
            ),
            too_deep,
        )
        return BREAK


def _first_field_deeper_than(
    maximum: int, root: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> FieldNode | None:
    deepest_entry: dict[str, int] = {}  # fragment name → the greatest depth it was walked from
    pending: list[tuple[SelectionSetNode, int]] = [(root, 0)]
    while pending:
        selection_set, depth = pending.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue
                if depth + 1 > maximum:
                    return selection
                if selection.selection_set is not None:
                    pending.append((selection.selection_set, depth + 1))
            elif isinstance(selection, InlineFragmentNode):
                pending.append((selection.selection_set, depth))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                # Unknown fragments are reported by graphql-core's own rules.
                if fragment is not None and deepest_entry.get(fragment.name.value, -1) < depth:
                    deepest_entry[fragment.name.value] = depth
                    pending.append((fragment.selection_set, depth))
    return None
