"""Executing a query without graphql-core's per-field machinery.

Every field below a planned root field is SQL-backed, and PostgreSQL already
builds its JSON exactly as the API serializes it (enum names, Decimal strings,
ISO timestamps, ``__typename``). For an operation made only of planned root
fields, the planner's JSON *is* the response data; walking it field by field
(~5 µs a field) only costs time. Fields the principal may not read come back
null with a marker, which become the same FORBIDDEN errors the standard way
raises (``schema/withheld.py``). Anything else — other errors, introspection,
``node``, mutations — returns ``None`` and goes the standard way, which also
produces the canonical error responses. Differential tests prove both ways give
the same bytes.

Over HTTP the JSON is not even parsed: the planner writes compact JSON (``{"k":v}``,
as orjson does), so a root with nothing withheld goes into the response as the text
PostgreSQL sent (``orjson.Fragment``); parsing and re-encoding it was most of the
server's time on large reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    get_named_type,
)

from app.errors import BizgraphError
from resolvers.planner.selection import FieldSelection
from resolvers.reads import PlannedRead, ReadService
from resolvers.scope import OperationScope
from schema.prepared import PreparedOperation
from schema.selection import SelectionReader
from schema.withheld import collect_withheld, fits_in_one_object

# Root field → how the planner answers it.
PLANNED_ROOTS: dict[str, tuple[str, str]] = {
    "customer": ("one", "Customer"),
    "customers": ("connection", "Customer"),
    "product": ("one", "Product"),
    "products": ("connection", "Product"),
    "order": ("one", "Order"),
    "orders": ("connection", "Order"),
    "invoice": ("one", "Invoice"),
    "invoices": ("connection", "Invoice"),
    "payments": ("connection", "Payment"),
    "employee": ("one", "Employee"),
    "employees": ("connection", "Employee"),
    "department": ("one", "Department"),
    "departments": ("connection", "Department"),
    "ordersAggregate": ("aggregate", "Order"),
    "invoicesAggregate": ("aggregate", "Invoice"),
    "paymentsAggregate": ("aggregate", "Payment"),
    "orderLinesAggregate": ("aggregate", "OrderLine"),
    "employeesAggregate": ("aggregate", "Employee"),
    "auditLog": ("connection", "AuditEntry"),
    "events": ("connection", "IntegrationEvent"),
    "emailDeliveries": ("connection", "EmailDelivery"),
    "webhookEndpoint": ("one", "WebhookEndpoint"),
    "webhookEndpoints": ("connection", "WebhookEndpoint"),
    "webhookDeliveries": ("connection", "WebhookDelivery"),
    "webhookAttempts": ("connection", "WebhookAttempt"),
}


@dataclass(frozen=True)
class FastAnswer:
    data: dict[str, Any]
    errors: list[GraphQLError]


@dataclass(frozen=True)
class FastPlan:
    """An operation the fast path answers, planned: each root field's statement. It depends
    only on the operation, its variables and the principal, so whoever runs the same
    operation again for the same principal (a live query) may keep it."""

    roots: tuple[FieldSelection, ...]
    reads: tuple[PlannedRead, ...]


class FastPath:
    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        if schema.query_type is None:
            raise ValueError("the fast path answers queries: the schema needs a Query type")
        self.query_type: GraphQLObjectType = schema.query_type

    async def execute(
        self,
        prepared: PreparedOperation | None,
        scope: OperationScope,
        *,
        verbatim: bool = False,
        plan: FastPlan | None = None,
    ) -> FastAnswer | None:
        """The response, or ``None`` when the standard way must answer. ``verbatim``: the
        data will be encoded by orjson, so roots whose JSON is already the response's bytes
        are passed on as PostgreSQL wrote them (``orjson.Fragment``), never parsed. ``plan``:
        the operation's statements when they were planned before (a kept plan's, bound to this
        request: ``schema/plan_templates.py``)."""
        if plan is None:
            plan = self.plan(prepared, scope.reads)
        return None if plan is None else await self.run(plan, scope, verbatim=verbatim)

    def plan(self, prepared: PreparedOperation | None, reads: ReadService) -> FastPlan | None:
        """The operation's statements, or ``None`` when the standard way must answer."""
        if prepared is None or prepared.kind is not OperationType.QUERY:
            return None
        reader = SelectionReader(self.schema, prepared.fragments, prepared.variables)
        roots = reader.fields_of(self.query_type, [prepared.operation.selection_set])
        if any(root.name not in PLANNED_ROOTS or not self._fits(root) for root in roots):
            return None
        try:
            return FastPlan(tuple(roots), tuple(plan_root(reads, root) for root in roots))
        except BizgraphError:
            return None

    async def run(self, plan: FastPlan, scope: OperationScope, *, verbatim: bool = False) -> FastAnswer | None:
        if len(plan.roots) == 1:
            scope.declare_lone_root_field()
        else:
            scope.declare_several_statements()
        data: dict[str, Any] = {}
        withheld = False
        try:
            for root, planned in zip(plan.roots, plan.reads, strict=True):
                if verbatim and planned.verbatim:
                    text = (await scope.reads.run_verbatim(planned)).value
                    # Compact JSON, byte for byte what encoding the parsed value would write.
                    data[root.key] = None if text is None else orjson.Fragment(text)
                    continue
                read = await scope.reads.run_planned(planned)
                data[root.key] = read.value
                withheld = withheld or read.withheld
        except BizgraphError:
            return None
        # Fields the principal may not read came back null with a marker beside them.
        # (Roots passed on verbatim withhold nothing: only the parsed ones are searched.)
        if not withheld:
            return FastAnswer(data, [])
        parsed = tuple(root for root in plan.roots if not isinstance(data[root.key], orjson.Fragment))
        return FastAnswer(data, collect_withheld(self.schema, data, parsed))

    def _fits(self, root: FieldSelection) -> bool:
        named = get_named_type(self.query_type.fields[root.name].type)
        return isinstance(named, GraphQLObjectType) and fits_in_one_object(named, root)


def plan_root(reads: ReadService, root: FieldSelection) -> PlannedRead:
    """The one statement that answers a planned root field (``PLANNED_ROOTS``)."""
    kind, type_name = PLANNED_ROOTS[root.name]
    if kind == "connection":
        return reads.plan_connection(type_name, root)
    if kind == "one":
        return reads.plan_one(type_name, root.args["id"], root)
    return reads.plan_aggregate(type_name, root)
