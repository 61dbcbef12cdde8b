"""Admitting an operation by its cost: refused above the maximum, then paid for from the
principal's budget when rate limiting is on. Runs before any SQL, on every path that executes
operations (the fast path and the standard way answer with the same ``extensions.cost``).

The document is parsed and validated through the schema's ``Documents`` (cached, under the
limits); an operation that does not parse, validate, coerce its variables or select one
operation is not priced here: the standard way answers it with its errors, and nothing ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FragmentDefinitionNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, OperationType
from graphql.execution.values import get_variable_values

from app.auth.principal import Principal
from app.errors import CostExceeded, RateLimited
from app.ratelimit.buckets import Buckets
from schema.cost.calculator import CostCalculator, PageSizes
from schema.limits.parsing import documents_of


@dataclass(frozen=True)
class CostReport:
    requested: int
    maximum: int
    # The principal's budget left after this operation; None when rate limiting is off
    # (or its store cannot be reached).
    remaining: int | None = None

    def as_extension(self) -> dict[str, int]:
        report = {"requested": self.requested, "maximum": self.maximum}
        if self.remaining is not None:
            report["remaining"] = self.remaining
        return report


class CostGate:
    def __init__(self, schema: GraphQLSchema, pages: PageSizes, maximum: int, buckets: Buckets | None) -> None:
        self.schema = schema
        self.calculator = CostCalculator(schema, pages)
        self.maximum = maximum
        self.buckets = buckets
        self.documents = documents_of(schema)

    def cost(
        self,
        query: str | None,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        mutations_allowed: bool = True,
    ) -> int | None:
        """The operation's cost, or None when it will not run (the standard way says why)."""
        if not query:
            return None
        documents = self.documents
        try:
            documents.check_variables(variables)
            document = documents.parse(query)
        except GraphQLError:
            return None
        if documents.validate(self.schema, query, document, documents.rules):
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1:
            return None
        operation = operations[0]
        if operation.operation is OperationType.MUTATION and not mutations_allowed:
            return None
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), dict(variables or {}))
        if isinstance(coerced, list):
            return None
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        return self.calculator.operation_cost(operation, fragments, coerced.coerced)

    async def admit(
        self,
        principal: Principal,
        query: str | None,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        mutations_allowed: bool = True,
    ) -> CostReport | None:
        """The operation's cost report once admitted; raises ``CostExceeded`` or ``RateLimited``."""
        cost = self.cost(query, variables, operation_name, mutations_allowed=mutations_allowed)
        if cost is None:
            return None
        if cost > self.maximum:
            raise CostExceeded(cost, self.maximum)
        if self.buckets is None:
            return CostReport(cost, self.maximum)
        charge = await self.buckets.charge(budget_key(principal), cost)
        if charge is None:  # the shared store is unreachable: let the operation through
            return CostReport(cost, self.maximum)
        if not charge.paid:
            raise RateLimited(cost, charge.remaining, charge.retry_after_seconds)
        return CostReport(cost, self.maximum, charge.remaining)


def budget_key(principal: Principal) -> str:
    """One budget per principal: the subject within its organization (subjects of different
    issuers or organizations never share one)."""
    return f"{principal.org_id}:{principal.issuer or ''}:{principal.subject}"
