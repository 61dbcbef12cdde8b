"""Admitting an operation by its cost: refused above the maximum, then paid for from the
principal's budget when rate limiting is on. Runs before any SQL, on every path that executes
operations (the fast path and the standard way answer with the same ``extensions.cost``).

The operation comes prepared (``schema/prepared.py``: parsed, validated and its variables
coerced once per request, shared with the fast path); one that could not be prepared is not
priced here: the standard way answers it with its errors, and nothing ran.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLSchema, OperationType

from app.auth.principal import Principal
from app.errors import CostExceeded, RateLimited
from app.ratelimit.buckets import Buckets
from schema.cost.calculator import CostCalculator, PageSizes
from schema.prepared import PreparedOperation


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

    def cost(self, prepared: PreparedOperation | None, *, mutations_allowed: bool = True) -> int | None:
        """The operation's cost, or None when it will not run (the standard way says why)."""
        if prepared is None or (prepared.kind is OperationType.MUTATION and not mutations_allowed):
            return None
        return self.calculator.operation_cost(prepared.operation, prepared.fragments, prepared.variables)

    async def admit(
        self,
        principal: Principal,
        prepared: PreparedOperation | None,
        *,
        mutations_allowed: bool = True,
    ) -> CostReport | None:
        """The operation's cost report once admitted; raises ``CostExceeded`` or ``RateLimited``."""
        cost = self.cost(prepared, mutations_allowed=mutations_allowed)
        if cost is None:
            return None
        return await self.charge(principal, cost)

    async def charge(self, principal: Principal, cost: int) -> CostReport:
        """Admits an operation of a known ``cost`` (priced before: ``cost``), paying for it;
        raises ``CostExceeded`` or ``RateLimited``."""
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
