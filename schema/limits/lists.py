"""How long a list written in the document may be (``in:`` filters, order lines, ``orderBy``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DirectiveNode,
    FieldNode,
    ListValueNode,
    ObjectFieldNode,
    VariableDefinitionNode,
)

from app.errors import ListTooLong
from schema.limits.rules import LimitRule


class ListLengthLimit(LimitRule):
    def enter_list_value(self, node: ListValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any) -> Any:
        if len(node.values) <= self.maximum:
            return None
        self.refuse(list_too_long(argument_path([*ancestors, parent]), self.maximum), node)
        return BREAK


def list_too_long(path: list[str], maximum: int) -> ListTooLong:
    return ListTooLong(
        f"The list at {'.'.join(path)} has more than {maximum} items",
        setting="BIZGRAPH_MAX_LIST_LENGTH",
        maximum=maximum,
        field=path,
    )


def argument_path(ancestors: Iterable[Any]) -> list[str]:
    """Where a value stands: the innermost field (by response key), directive or variable,
    then the argument and the input fields down to it."""
    path: list[str] = []
    for node in ancestors:
        if isinstance(node, FieldNode):
            path = [(node.alias or node.name).value]
        elif isinstance(node, DirectiveNode):
            path = [f"@{node.name.value}"]
        elif isinstance(node, VariableDefinitionNode):
            path = [f"${node.variable.name.value}"]
        elif isinstance(node, ArgumentNode | ObjectFieldNode):
            path.append(node.name.value)
    return path
