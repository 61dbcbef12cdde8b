"""Reads for the API: plan a selection, run its one statement, return the JSON."""

from __future__ import annotations

from typing import Any, Callable

from app.errors import BizgraphError, NotFound
from resolvers.analytics.compile import TooManyGroups, compile_aggregate
from resolvers.analytics.sql import AGGREGATES
from resolvers.catalog import CATALOG
from resolvers.planner.access import Access
from resolvers.planner.compile import Plan, Planner
from resolvers.planner.ids import decode_id
from resolvers.planner.pagination import PageLimits
from resolvers.planner.selection import FieldSelection
from resolvers.transaction import RequestTransaction


class RestrictedSelection(BizgraphError):
    """The selection touches fields the principal may not read on some rows.

    Raised (before any SQL runs) only to callers that cannot report per-field
    errors, i.e. the fast path, which then leaves the operation to the standard
    execution that adds a FORBIDDEN error at each withheld field."""

    code = "RESTRICTED_SELECTION"


class ReadService:
    def __init__(self, transaction: RequestTransaction, access: Access, limits: PageLimits) -> None:
        self.transaction = transaction
        self.access = access
        self.limits = limits

    def _planner(self) -> Planner:
        return Planner(CATALOG, self.access, self.limits)

    async def _run(self, plan: Plan, restricted_ok: bool) -> Any:
        if plan.restricted and not restricted_ok:
            raise RestrictedSelection("the selection has fields this principal may not read")
        return await self.transaction.fetch_value(plan.sql, plan.params)

    async def connection(self, type_name: str, selection: FieldSelection, *, restricted_ok: bool = True) -> dict[str, Any]:
        return await self._run(self._planner().connection(type_name, selection), restricted_ok)

    async def aggregate(
        self, type_name: str, selection: FieldSelection, *, restricted_ok: bool = True
    ) -> list[dict[str, Any]]:
        planner = self._planner()
        sql = compile_aggregate(planner, AGGREGATES[type_name], selection)
        result = await self._run(Plan(sql, planner.params.values, planner.restricted), restricted_ok)
        if result["truncated"]:
            raise TooManyGroups(
                f"more than {self.limits.max_groups} groups: narrow the filter or group more coarsely",
                field=["groupBy"],
            )
        return result["groups"]

    async def one(
        self, type_name: str, global_id: str, selection: FieldSelection, *, restricted_ok: bool = True
    ) -> dict[str, Any]:
        _, pk = decode_id(global_id, type_name)
        return await self._fetch_one(type_name, pk, selection, global_id, typename=False, restricted_ok=restricted_ok)

    async def node(self, global_id: str, selection_for: Callable[[str], FieldSelection]) -> dict[str, Any]:
        """Any entity by global ID; the result carries ``__typename`` for type resolution."""
        type_name, pk = decode_id(global_id, frozenset(CATALOG.entities))
        return await self._fetch_one(type_name, pk, selection_for(type_name), global_id, typename=True)

    async def by_pk(self, type_name: str, pk: int, selection: FieldSelection) -> dict[str, Any] | None:
        """The row with this key if the principal sees it (``me``'s employee and customer)."""
        plan = self._planner().one(type_name, pk, selection)
        return await self._run(plan, True)

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
        restricted_ok: bool = True,
    ) -> dict[str, Any]:
        plan = self._planner().one(type_name, pk, selection, typename=typename)
        value = await self._run(plan, restricted_ok)
        if value is None:
            # The same answer whether the row is missing or outside the principal's scope.
            raise NotFound(f"no {type_name} with ID {global_id!r}")
        return value
