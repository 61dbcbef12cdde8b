"""Reads for the API: plan a selection, run its one statement, return the JSON."""

from __future__ import annotations

from typing import Any, Callable

from app.errors import NotFound
from resolvers.analytics.compile import TooManyGroups, compile_aggregate
from resolvers.analytics.catalog import AGGREGATES
from resolvers.catalog import CATALOG
from resolvers.planner.access import Access
from resolvers.planner.compile import Plan, Planner
from resolvers.planner.ids import decode_id
from resolvers.planner.pagination import PageLimits
from resolvers.planner.selection import FieldSelection
from resolvers.transaction import RequestTransaction


class ReadService:
    def __init__(self, transaction: RequestTransaction, access: Access, limits: PageLimits) -> None:
        self.transaction = transaction
        self.access = access
        self.limits = limits
        # Whether a read so far may have withheld a field: its JSON then carries
        # marker keys ("salary!") that someone must turn into FORBIDDEN errors.
        self.withheld = False

    def _planner(self) -> Planner:
        return Planner(CATALOG, self.access, self.limits)

    async def _run(self, plan: Plan) -> Any:
        self.withheld = self.withheld or plan.restricted
        return await self.transaction.fetch_value(plan.sql, plan.params)

    async def connection(self, type_name: str, selection: FieldSelection) -> dict[str, Any]:
        return await self._run(self._planner().connection(type_name, selection))

    async def aggregate(self, type_name: str, selection: FieldSelection) -> list[dict[str, Any]]:
        planner = self._planner()
        sql = compile_aggregate(planner, AGGREGATES[type_name], selection)
        result = await self._run(Plan(sql, planner.params.values, planner.restricted))
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

    async def by_pk(
        self, type_name: str, pk: int, selection: FieldSelection, *, typename: bool = False
    ) -> dict[str, Any] | None:
        """The row with this key if the principal sees it, else None."""
        return await self._run(self._planner().one(type_name, pk, selection, typename=typename))

    async def organization(self) -> dict[str, Any]:
        """The principal's organization."""
        sql = (
            "SELECT json_build_object('slug', slug, 'name', name, 'currency', currency, 'time_zone', time_zone)"
            " FROM organizations WHERE id = %(org)s"
        )
        return await self.transaction.fetch_value(sql, {"org": self.access.org_id})

    async def _fetch_one(
        self,
        type_name: str,
        pk: int,
        selection: FieldSelection,
        global_id: str,
        *,
        typename: bool,
    ) -> dict[str, Any]:
        value = await self.by_pk(type_name, pk, selection, typename=typename)
        if value is None:
            # The same answer whether the row is missing or outside the principal's scope.
            raise NotFound(f"no {type_name} with ID {global_id!r}")
        return value
