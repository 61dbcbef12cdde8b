"""Aliases and directives, counted over the whole document as written."""

from __future__ import annotations

from typing import Any

from graphql import BREAK, DirectiveNode, FieldNode

from app.errors import TooManyAliases, TooManyDirectives
from schema.limits.rules import LimitRule


class AliasLimit(LimitRule):
    """Every aliased field counts: aliases are how one request asks for the same field many times."""

    count = 0

    def enter_field(self, node: FieldNode, *_args: Any) -> Any:
        if node.alias is None:
            return None
        self.count += 1
        if self.count <= self.maximum:
            return None
        self.refuse(
            TooManyAliases(
                f"The document has more than {self.maximum} aliased fields",
                setting="BIZGRAPH_MAX_ALIASES",
                maximum=self.maximum,
            ),
            node,
        )
        return BREAK


class DirectiveLimit(LimitRule):
    """Every use of a directive counts, wherever it stands."""

    count = 0

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> Any:
        self.count += 1
        if self.count <= self.maximum:
            return None
        self.refuse(
            TooManyDirectives(
                f"The document uses directives more than {self.maximum} times",
                setting="BIZGRAPH_MAX_DIRECTIVES",
                maximum=self.maximum,
            ),
            node,
        )
        return BREAK
