"""The per-operation context every field function sees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import FieldNode

from app.auth.principal import Principal
from resolvers.writes.runner import CommandService
from resolvers.reads import ReadService
from resolvers.transaction import RequestTransaction


@dataclass
class Context:
    # None only while serving the GraphiQL page, which executes nothing.
    reads: ReadService | None
    transaction: RequestTransaction | None
    principal: Principal | None
    commands: CommandService | None = None
    request: Any = None
    response: Any = None
    request_id: str = "-"


def reads(info: Any) -> ReadService:
    context = info.context
    raw = getattr(info, "_raw_info", info)
    if len(raw.path.as_list()) == 1:
        # A lone planned root field is one statement and needs no transaction
        # around it; nested fields (``me { employee }``) leave the decision to
        # their root field.
        context.transaction.single_statement = _single_root_field(raw.operation)
    return context.reads


def _single_root_field(operation: Any) -> bool:
    selections = operation.selection_set.selections
    return len(selections) == 1 and isinstance(selections[0], FieldNode)
