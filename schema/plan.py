"""``extensions.plan``: what an operation cost and which SQL answered it, for the analyst's explorer.

Asked for with the request header ``X-Bizgraph-Plan: 1`` (``analyze`` for ``EXPLAIN ANALYZE``),
by roles the policy table allows (``policy.TOOLS``). For each root field: its response key, its
cost from the cost gate's calculator, and, when one planned statement answers it, that
statement's SQL (parameters as psycopg's ``%(pN)s`` placeholders, never their values) with
PostgreSQL's ``EXPLAIN (FORMAT JSON)`` of it, run with the same parameters in the operation's
own read-only transaction. The plan is built from the operation alone, so it is the same
whichever path answered (the fast path or field by field).

Fields answered otherwise (``me``, ``node``, a mutation's command) carry a note instead of SQL.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from graphql import FieldNode, GraphQLObjectType, GraphQLSchema, OperationType

from app.errors import BadUserInput, BizgraphError
from resolvers.scope import OperationScope
from schema.cost.calculator import CostCalculator
from schema.fastpath import PLANNED_ROOTS, plan_root
from schema.prepared import PreparedOperation
from schema.selection import SelectionReader

PLAN_HEADER = "x-bizgraph-plan"

NOT_PLANNED = "answered field by field, not by one planned statement"
A_COMMAND = "a mutation runs a command, whose statements are not explained"


# psycopg's named placeholders, as the planner writes them (resolvers/planner/sqltext.py).
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def placeholders(sql: str) -> list[str]:
    """The names of the parameters ``sql`` uses, each once, sorted: what the values are bound to."""
    return sorted(set(PLACEHOLDER.findall(sql)))


class PlanMode(enum.Enum):
    EXPLAIN = "EXPLAIN"
    ANALYZE = "EXPLAIN ANALYZE"

    @classmethod
    def from_header(cls, raw: str | None) -> PlanMode | None:
        """The mode a request asks for; None when it asks for none (header absent or empty)."""
        value = (raw or "").strip().lower()
        if not value:
            return None
        if value in {"1", "true", "yes", "explain"}:
            return cls.EXPLAIN
        if value == "analyze":
            return cls.ANALYZE
        raise BadUserInput("X-Bizgraph-Plan must be 1 (the plan) or analyze (the plan with EXPLAIN ANALYZE)")

    @property
    def analyze(self) -> bool:
        return self is PlanMode.ANALYZE


class PlanReporter:
    def __init__(self, schema: GraphQLSchema, costs: CostCalculator | None) -> None:
        self.schema = schema
        self.costs = costs

    async def report(self, prepared: PreparedOperation, scope: OperationScope, mode: PlanMode) -> dict[str, Any]:
        """The plan of an operation that ran in ``scope`` (still open: EXPLAIN runs in it)."""
        root_type = self.schema.get_root_type(prepared.kind)
        assert isinstance(root_type, GraphQLObjectType)  # the operation was validated
        reader = SelectionReader(self.schema, prepared.fragments, prepared.variables)
        fields = []
        for root in reader.fields_of(root_type, [prepared.operation.selection_set]):
            nodes = [node for node in root.origin if isinstance(node, FieldNode)]
            entry: dict[str, Any] = {"field": root.key, "name": root.name}
            if self.costs is not None:
                entry["cost"] = self.costs.field_cost(root_type, nodes, prepared.fragments, prepared.variables)
            if prepared.kind is not OperationType.QUERY:
                entry["note"] = A_COMMAND
            elif root.name not in PLANNED_ROOTS:
                entry["note"] = NOT_PLANNED
            else:
                try:
                    planned = plan_root(scope.reads, root)
                except BizgraphError as refusal:  # the field's own error is in the answer's errors
                    entry["error"] = refusal.message
                else:
                    explained = await scope.reads.explain(planned, analyze=mode.analyze)
                    entry["sql"] = planned.plan.sql
                    entry["parameters"] = placeholders(planned.plan.sql)
                    entry["explain"] = explained.plan
                    if explained.error is not None:
                        entry["error"] = explained.error
            fields.append(entry)
        return {"mode": mode.value, "rootFields": fields}
