"""How many root fields one operation may select.

Each root field of a query is a statement of its own (the planner answers one
root field with one statement), and each root field of a mutation a command of
its own; aliases make the same field count again. Without a bound, one small
document (``a1: customers … a10000: customers …``) runs ten thousand
statements in one request. The rule refuses such a document while it is
validated, before any SQL.

What counts is what would run: distinct response keys (two selections under one
key are merged into one field), with fragments' root fields counted where they
are spread, and selections left out by a literal ``@skip(if: true)`` or
``@include(if: false)`` not counted. One whose ``@skip``/``@include`` depends on
a variable counts: validation runs before variables are known (and its result
is cached for every set of variables), so it counts what may run.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    SKIP,
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
)

from app.errors import TooManyRootFields
from schema.limits.rules import LimitRule


class RootFieldLimit(LimitRule):
    """Refuses an operation with more than ``maximum`` root fields."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> Any:
        fragments = {
            definition.name.value: definition
            for definition in self.context.document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        beyond = _first_root_field_beyond(self.maximum, node.selection_set, fragments)
        if beyond is not None:
            self.refuse(
                TooManyRootFields(
                    f"The operation selects more than {self.maximum} root fields",
                    setting="BIZGRAPH_MAX_ROOT_FIELDS",
                    maximum=self.maximum,
                ),
                beyond,
            )
        return SKIP  # nothing below the operation's own selection concerns this rule


def _first_root_field_beyond(
    maximum: int, root: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> FieldNode | None:
    """The first root field whose response key is one too many, if any; the walk
    stops there, so a document of ten thousand aliases costs ``maximum`` steps."""
    keys: set[str] = set()
    spread: set[str] = set()  # each fragment once: a cycle is graphql-core's own error
    pending: list[SelectionSetNode] = [root]
    while pending:
        for selection in pending.pop().selections:
            if not _may_run(selection):
                continue
            if isinstance(selection, FieldNode):
                keys.add((selection.alias or selection.name).value)
                if len(keys) > maximum:
                    return selection
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                # Unknown fragments are reported by graphql-core's own rules.
                if fragment is not None and name not in spread:
                    spread.add(name)
                    pending.append(fragment.selection_set)
    return None


def _may_run(selection: SelectionNode) -> bool:
    """False only where a literal ``@skip``/``@include`` leaves the selection out."""
    for directive in selection.directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        condition = next((a.value for a in directive.arguments or () if a.name.value == "if"), None)
        if isinstance(condition, BooleanValueNode) and condition.value == (name == "skip"):
            return False
    return True
