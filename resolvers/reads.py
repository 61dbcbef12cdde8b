"""Reads for the API: plan a selection, run its one statement, return the JSON.

Two forms of each read: the plain one returns the JSON, for field functions
(their guarded resolvers turn withheld fields into errors one field at a time);
the ``read_…`` one returns a ``Read`` that also says whether the policy may have
withheld fields in it, for callers that take the JSON as it is (the fast path,
a command's payload) and so must find the withheld fields themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from app.errors import NotFound
from resolvers.analytics.catalog import AGGREGATES
from resolvers.analytics.compile import TooManyGroups, compile_aggregate
from resolvers.catalog import CATALOG
from resolvers.explain import Explained, explain
from resolvers.planner.access import Access
from resolvers.planner.compile import Plan, Planner
from resolvers.planner.ids import decode_id
from resolvers.planner.pagination import PageLimits
from resolvers.planner.selection import FieldSelection


class StatementRunner(Protocol):
    """Where the planner's statements run: the operation's read transaction, or a
    command's own transaction."""

    async def fetch_value(self, sql: str, params: dict[str, Any]) -> Any: ...


T = TypeVar("T")

Row = dict[str, Any]


@dataclass(frozen=True)
class Read(Generic[T]):
    """One planned statement's JSON."""

    value: T
    # The policy may have withheld a field: the JSON then carries marker keys
    # ("salary!") beside the nulls, to be turned into FORBIDDEN errors.
    withheld: bool


@dataclass(frozen=True)
class PlannedRead:
    """A read's one statement, and what turns its value into the read's (or refuses it)."""

    plan: Plan
    finish: Callable[[Any], Any]
    # Whether ``finish`` takes the JSON as text as well (it looks at nothing inside it).
    finishes_text: bool = True

    @property
    def verbatim(self) -> bool:
        """Whether its JSON, as PostgreSQL writes it, is already the response's bytes: compact
        throughout (``Plan.compact``) and with no field the policy may withhold, whose markers
        must be found and turned into errors first."""
        return self.finishes_text and self.plan.compact and not self.plan.restricted


def _as_text(sql: str) -> str:
    return f"SELECT ({sql})::text"


def _as_is(value: Any) -> Any:
    return value


def _existing(type_name: str, global_id: str) -> Callable[[Any], Any]:
    def existing(value: Any) -> Any:
        if value is None:
            # The same answer whether the row is missing or outside the principal's scope.
            raise NotFound(f"no {type_name} with ID {global_id!r}")
        return value

    return existing


def with_params(planned: PlannedRead, values: dict[str, Any]) -> PlannedRead:
    """The same statement with some of its parameters bound to other values."""
    kept = planned.plan
    plan = Plan(kept.sql, {**kept.params, **values}, kept.restricted, kept.compact, kept.key_param, kept.zoned_sql)
    return PlannedRead(plan, planned.finish, planned.finishes_text)


def one_with_id(planned: PlannedRead, type_name: str, global_id: str) -> PlannedRead:
    """A planned lookup (``plan_one``) of another row of the same type: the same statement with
    the key decoded from ``global_id`` (``InvalidId`` when it is not a ``type_name``'s)."""
    key_param = planned.plan.key_param
    if key_param is None:
        raise ValueError("not a lookup by key: its plan has no key parameter")
    _, pk = decode_id(global_id, type_name)
    return PlannedRead(
        with_params(planned, {key_param: pk}).plan, _existing(type_name, global_id), planned.finishes_text
    )


class ReadService:
    def __init__(self, statements: StatementRunner, access: Access, limits: PageLimits) -> None:
        self._statements = statements
        self._access = access
        self._limits = limits

    def _planner(self) -> Planner:
        return Planner(CATALOG, self._access, self._limits)

    async def _run(self, plan: Plan) -> Read[Any]:
        return Read(await self._statements.fetch_value(plan.sql, plan.params), plan.restricted)

    # Planning and running apart: a live query plans once and runs its plan at every change.

    def plan_connection(self, type_name: str, selection: FieldSelection) -> PlannedRead:
        return PlannedRead(self._planner().connection(type_name, selection), _as_is)

    def plan_aggregate(self, type_name: str, selection: FieldSelection) -> PlannedRead:
        planner = self._planner()
        sql = compile_aggregate(planner, AGGREGATES[type_name], selection)
        max_groups = self._limits.max_groups

        def groups(value: Any) -> Any:
            # The groups, as JSON or as its text alike; NULL only past the cap.
            if value is None:
                raise TooManyGroups(
                    f"more than {max_groups} groups: narrow the filter or group more coarsely", field=["groupBy"]
                )
            return value

        return PlannedRead(planner.plan(sql), groups)

    def plan_one(self, type_name: str, global_id: str, selection: FieldSelection) -> PlannedRead:
        _, pk = decode_id(global_id, type_name)
        return PlannedRead(
            self._planner().one(type_name, pk, selection, typename=False), _existing(type_name, global_id)
        )

    async def explain(self, planned: PlannedRead, *, analyze: bool = False) -> Explained:
        """PostgreSQL's plan of ``planned``'s statement, in the same transaction as the reads."""
        return await explain(self._statements, planned.plan, analyze=analyze)

    async def run_planned(self, planned: PlannedRead) -> Read[Any]:
        value = await self._value_of(planned.plan, as_text=False)
        return Read(planned.finish(value), planned.plan.restricted)

    async def run_verbatim(self, planned: PlannedRead) -> Read[str | None]:
        """The JSON of a ``verbatim`` read as PostgreSQL wrote it, unparsed (cast to text,
        which psycopg hands over as it came)."""
        if not planned.verbatim:
            raise ValueError("this read's JSON must be parsed: it is not verbatim")
        value = await self._value_of(planned.plan, as_text=True)
        return Read(planned.finish(value), False)

    async def _value_of(self, plan: Plan, *, as_text: bool) -> Any:
        """The plan's value: its zoned form where the runner can set the zone around it
        (``fetch_value_in_zone``: an operation's read transaction, a live batch), else as written."""
        in_zone = getattr(self._statements, "fetch_value_in_zone", None) if plan.zoned_sql is not None else None
        if in_zone is not None and plan.zoned_sql is not None:
            return await in_zone(_as_text(plan.zoned_sql) if as_text else plan.zoned_sql, plan.params)
        return await self._statements.fetch_value(_as_text(plan.sql) if as_text else plan.sql, plan.params)

    async def read_connection(self, type_name: str, selection: FieldSelection) -> Read[Row]:
        return await self.run_planned(self.plan_connection(type_name, selection))

    async def read_aggregate(self, type_name: str, selection: FieldSelection) -> Read[list[Row]]:
        return await self.run_planned(self.plan_aggregate(type_name, selection))

    async def read_one(self, type_name: str, global_id: str, selection: FieldSelection) -> Read[Row]:
        return await self.run_planned(self.plan_one(type_name, global_id, selection))

    async def read_by_pk(
        self, type_name: str, pk: int, selection: FieldSelection, *, typename: bool = False
    ) -> Read[Row | None]:
        """The row with this key if the principal sees it, else a ``None`` value."""
        return await self._run(self._planner().one(type_name, pk, selection, typename=typename))

    async def connection(self, type_name: str, selection: FieldSelection) -> Row:
        return (await self.read_connection(type_name, selection)).value

    async def aggregate(self, type_name: str, selection: FieldSelection) -> list[Row]:
        return (await self.read_aggregate(type_name, selection)).value

    async def one(self, type_name: str, global_id: str, selection: FieldSelection) -> Row:
        return (await self.read_one(type_name, global_id, selection)).value

    async def by_pk(self, type_name: str, pk: int, selection: FieldSelection, *, typename: bool = False) -> Row | None:
        """The row with this key if the principal sees it, else None."""
        return (await self.read_by_pk(type_name, pk, selection, typename=typename)).value

    async def node(self, global_id: str, selection_for: Callable[[str], FieldSelection]) -> Row:
        """Any entity by global ID; the result carries ``__typename`` for type resolution."""
        type_name, pk = decode_id(global_id, frozenset(CATALOG.entities))
        read = await self._read_existing(type_name, pk, selection_for(type_name), global_id, typename=True)
        return read.value

    async def organization(self) -> Row:
        """The principal's organization."""
        sql = (
            "SELECT json_build_object('slug', slug, 'name', name, 'currency', currency, 'time_zone', time_zone)"
            " FROM organizations WHERE id = %(org)s"
        )
        organization: Row = await self._statements.fetch_value(sql, {"org": self._access.org_id})
        return organization

    async def _read_existing(
        self,
        type_name: str,
        pk: int,
        selection: FieldSelection,
        global_id: str,
        *,
        typename: bool,
    ) -> Read[Row]:
        read = await self.read_by_pk(type_name, pk, selection, typename=typename)
        if read.value is None:
            # The same answer whether the row is missing or outside the principal's scope.
            raise NotFound(f"no {type_name} with ID {global_id!r}")
        return Read(read.value, read.withheld)
