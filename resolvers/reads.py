"""Reads for the API: plan a selection, run its one statement, return the JSON."""

from __future__ import annotations

from typing import Any, Callable

from app.errors import NotFound
from resolvers.analytics.compile import TooManyGroups, compile_aggregate
from resolvers.analytics.sql import AGGREGATES
from resolvers.catalog import CATALOG
from resolvers.planner.compile import Planner, RowScope
from resolvers.planner.ids import decode_id
from resolvers.planner.pagination import PageLimits
from resolvers.planner.selection import FieldSelection
from resolvers.transaction import RequestTransaction


class ReadService:
    def __init__(self, transaction: RequestTransaction, scope: RowScope, limits: PageLimits) -> None:
        self.transaction = transaction
        self.scope = scope
        self.limits = limits

    def _planner(self) -> Planner:
        return Planner(CATALOG, self.scope, self.limits)

    async def connection(self, type_name: str, selection: FieldSelection) -> dict[str, Any]:
        plan = self._planner().connection(type_name, selection)
        return await self.transaction.fetch_value(plan.sql, plan.params)

    async def aggregate(self, type_name: str, selection: FieldSelection) -> list[dict[str, Any]]:
        planner = self._planner()
        sql = compile_aggregate(planner, AGGREGATES[type_name], selection)
        result = await self.transaction.fetch_value(sql, planner.params.values)
        if result["truncated"]:
            raise TooManyGroups(
                f"more than {self.limits.max_groups} groups: narrow the filter or group more coarsely",
                field=["groupBy"],
            )
        return result["groups"]

    async def one(self, type_name: str, global_id: str, selection: FieldSelection) -> dict[str, Any]:
        _, pk = decode_id(global_id, type_name)
        return await self._fetch_one(type_name, pk, selection, global_id, typename=False)

    async def node(self, global_id: str, selection_for: Callable[[str], FieldSelection]) -> dict[str, Any]:
        """Any entity by global ID; the result carries ``__typename`` for type resolution."""
        type_name, pk = decode_id(global_id, frozenset(CATALOG.entities))
        return await self._fetch_one(type_name, pk, selection_for(type_name), global_id, typename=True)

    async def _fetch_one(
        self, type_name: str, pk: int, selection: FieldSelection, global_id: str, *, typename: bool
    ) -> dict[str, Any]:
        plan = self._planner().one(type_name, pk, selection, typename=typename)
        value = await self.transaction.fetch_value(plan.sql, plan.params)
        if value is None:
            # The same answer whether the row is missing or outside the principal's scope.
            raise NotFound(f"no {type_name} with ID {global_id!r}")
        return value
