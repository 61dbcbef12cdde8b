"""The per-operation context every field function sees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, OperationDefinitionNode

from app.auth.principal import Principal
from resolvers.reads import ReadService
from resolvers.scope import OperationScope


@dataclass(frozen=True)
class Context:
    # None only while serving the GraphiQL page, which executes nothing.
    principal: Principal | None
    request: Any = None
    response: Any = None
    request_id: str = "-"
    # The database work of the operation being executed. The view builds the
    # context without one and hands each operation it runs a copy carrying the
    # scope it opened for it.
    scope: OperationScope | None = None
    # The WAL position of the client's latest write, as it sent it back (README "Read
    # replicas"): its queries read from a replica only once one has replayed past it.
    read_after: int | None = None

    def with_scope(self, scope: OperationScope) -> Context:
        """The same context, carrying ``scope``: what ``dataclasses.replace`` makes, at a
        tenth of its cost (it is on every operation's path)."""
        copied = object.__new__(Context)
        copied.__dict__.update(self.__dict__)
        object.__setattr__(copied, "scope", scope)
        return copied


def operation_scope(info: Any) -> OperationScope:
    """The scope of the operation ``info`` belongs to."""
    scope: OperationScope | None = info.context.scope
    if scope is None:
        raise RuntimeError("no operation scope: field functions run only inside one")
    return scope


def reads(info: Any) -> ReadService:
    """The operation's reads; a root field first tells the scope the operation's shape."""
    scope = operation_scope(info)
    raw = getattr(info, "_raw_info", info)
    if len(raw.path.as_list()) == 1:
        # Nested fields (``me { employee }``) leave the decision to their root field.
        if _single_root_field(raw.operation):
            scope.declare_lone_root_field()
        else:
            scope.declare_several_statements()
    return scope.reads


def _single_root_field(operation: OperationDefinitionNode) -> bool:
    selections = operation.selection_set.selections
    return len(selections) == 1 and isinstance(selections[0], FieldNode)
