"""Validation rules that enforce the limits, built once per schema.

They run in a pass of their own before graphql-core's rules (``parsing.Documents``), so a
document over a limit costs one cheap walk, not a full validation. A rule class carries its
maximum as a class attribute: graphql-core instantiates rules itself, and classes built once
compare equal from request to request, which keeps validation results cacheable.
"""

from __future__ import annotations

from typing import ClassVar, cast

from graphql import GraphQLError, Node, ValidationRule

from app.errors import LimitExceeded


class LimitRule(ValidationRule):
    """A rule that checks one limit; ``maximum`` is set on the subclass built by ``bound``."""

    maximum: ClassVar[int]

    @classmethod
    def bound(cls, maximum: int) -> type[LimitRule]:
        return cast("type[LimitRule]", type(cls.__name__, (cls,), {"maximum": maximum}))

    def refuse(self, refusal: LimitExceeded, nodes: Node | list[Node] | None = None) -> None:
        self.report_error(GraphQLError(refusal.message, nodes, original_error=refusal))
