"""Which operations introspect the schema (``__schema`` / ``__type``).

Outside demo mode only the roles the configuration names may introspect; the
check is on the document alone, so its answer is cached by the document text.
"""

from __future__ import annotations

from functools import lru_cache

from graphql import FieldNode, GraphQLError, parse, visit
from graphql.language import Visitor

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


class _FindIntrospection(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_field(self, node: FieldNode, *_: object) -> object:
        if node.name.value in INTROSPECTION_FIELDS:
            self.found = True
            return self.BREAK
        return None


@lru_cache(maxsize=512)
def uses_introspection(query: str) -> bool:
    """Whether the document selects ``__schema`` or ``__type`` anywhere (fragments included)."""
    try:
        document = parse(query)
    except GraphQLError:
        return False  # the parser's own error answers it
    finder = _FindIntrospection()
    visit(document, finder)
    return finder.found
