"""A live query's answer: the subscription's operation, run as the query it mirrors.

The answer must be what the query answers over HTTP at that moment, byte for byte (less
``extensions``), so it is made the same way: the fast path when it can answer, else
strawberry's execution, then the same error classification and the same JSON encoding. Only
where the statements run differs: in a batch shared with every other live query re-run by
the same change (``resolvers/live/batch.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import strawberry
from graphql import GraphQLObjectType, OperationType
from strawberry.types import ExecutionResult

from app.auth.principal import Principal
from app.db import Database
from resolvers.live.batch import BatchedStatements
from resolvers.planner.pagination import PageLimits
from resolvers.scope import OperationScope
from schema.context import Context
from schema.errors import response_body
from schema.fastpath import FastPath, FastPlan
from schema.prepared import PreparedOperation, prepare_operation
from schema.selection import SelectionReader

_KEYWORD = "subscription"
_QUERY = "query".ljust(len(_KEYWORD))


@dataclass(frozen=True)
class LiveQuery:
    """A subscription operation as the query it re-runs."""

    text: str  # the document, with this operation a query
    operation_name: str | None
    sent_variables: Mapping[str, Any]
    prepared: PreparedOperation | None  # the query, prepared (None: the standard way answers)
    root: str  # the one root field's name


def root_field_name(schema: strawberry.Schema, prepared: PreparedOperation) -> str:
    """The subscription's root field (validation allows exactly one)."""
    root_type = schema._schema.subscription_type
    if not isinstance(root_type, GraphQLObjectType):
        raise ValueError("the schema has no Subscription type")
    reader = SelectionReader(schema._schema, prepared.fragments, prepared.variables)
    fields = reader.fields_of(root_type, [prepared.operation.selection_set])
    if len(fields) != 1:
        raise ValueError("a subscription has exactly one root field")
    return fields[0].name


def as_query(schema: strawberry.Schema, subscription: PreparedOperation) -> LiveQuery:
    """The subscription's document with its operation turned into the query it mirrors: the
    one word ``subscription`` becomes ``query`` padded to the same length, so every field,
    argument, fragment and position stays — errors' locations point into the document the
    client sent."""
    if subscription.kind is not OperationType.SUBSCRIPTION:
        raise ValueError("not a subscription")
    location = subscription.operation.loc
    body = subscription.text
    if location is None or body[location.start : location.start + len(_KEYWORD)] != _KEYWORD:
        raise ValueError("the subscription's source does not start with its keyword")
    text = body[: location.start] + _QUERY + body[location.start + len(_KEYWORD) :]
    name = subscription.operation.name.value if subscription.operation.name else None
    prepared = prepare_operation(schema._schema, text, subscription.sent_variables, name)
    return LiveQuery(text, name, subscription.sent_variables, prepared, root_field_name(schema, subscription))


@dataclass
class PlanMemo:
    """A live query's fast-path plan, kept between runs: the operation, its variables and the
    principal never change, so neither do its statements (the planner binds no clock)."""

    known: bool = False
    plan: FastPlan | None = None


class LiveExecutor:
    def __init__(
        self, schema: strawberry.Schema, database: Database, limits: PageLimits, *, fast_path: bool = True
    ) -> None:
        self.schema = schema
        self.database = database
        self.limits = limits
        self.fast_path = FastPath(schema._schema) if fast_path else None
        self.suggestions = not schema.config.disable_field_suggestions

    async def answer(
        self,
        query: LiveQuery,
        principal: Principal,
        request_id: str,
        statements: BatchedStatements,
        memo: PlanMemo | None = None,
    ) -> bytes:
        """The query's answer as the HTTP endpoint encodes it (PostgreSQL's JSON passed on
        unparsed where it may be, as the endpoint does: ``schema/fastpath.py``)."""
        return orjson.dumps(await self.run(query, principal, request_id, statements, memo, verbatim=True))

    async def run(
        self,
        query: LiveQuery,
        principal: Principal,
        request_id: str,
        statements: BatchedStatements,
        memo: PlanMemo | None = None,
        *,
        verbatim: bool = False,
    ) -> dict[str, Any]:
        """The query's answer as the HTTP endpoint answers it, before encoding: ``data``, then
        ``errors`` when there are any (classified, with their codes). ``verbatim``: the caller
        encodes it with orjson at once, so roots may be PostgreSQL's JSON text, unparsed."""
        scope = OperationScope(self.database, principal, self.limits, request_id, statements=statements)
        async with scope:
            result: ExecutionResult | None = None
            if self.fast_path is not None:
                plan = self._plan(query, scope, memo)
                fast = await self.fast_path.run(plan, scope, verbatim=verbatim) if plan is not None else None
                if fast is not None:
                    result = ExecutionResult(data=fast.data, errors=fast.errors or None)
            if result is None:
                context = Context(principal=principal, request_id=request_id, scope=scope)
                result = await self.schema.execute(
                    query.text,
                    variable_values=dict(query.sent_variables),
                    context_value=context,
                    operation_name=query.operation_name,
                )
        # The same body the HTTP endpoint answers (a re-run carries no extensions).
        return dict(response_body(result, request_id, suggestions=self.suggestions))

    def _plan(self, query: LiveQuery, scope: OperationScope, memo: PlanMemo | None) -> FastPlan | None:
        assert self.fast_path is not None
        if memo is not None and memo.known:
            return memo.plan
        plan = self.fast_path.plan(query.prepared, scope.reads)
        if memo is not None:
            memo.known, memo.plan = True, plan
        return plan
