"""Selection tree → one SQL statement whose single value is the field's JSON.

Objects are compact JSON over the row (``sqltext.json_object``); to-one relations are scalar
subqueries; connections are correlated subqueries over a keyset-limited page.
PostgreSQL does all of it in one statement, however deep the selection.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from app.auth.access import restricted_fields
from app.errors import Forbidden
from app.workflows import MACHINES
from resolvers.planner.access import Access
from resolvers.planner.catalog import Catalog, Column, Embedded, Entity, ForeignId, GlobalId, ToMany, ToOne, Transitions
from resolvers.planner.cursors import after_sql, cursor_sql
from resolvers.planner.filters import FilterCompiler
from resolvers.planner.ids import global_id_sql
from resolvers.planner.pagination import PageLimits, PageRequest, page_request, unique_prefix
from resolvers.planner.selection import FieldSelection
from resolvers.planner.sqltext import SqlParams, is_compact, json_array_agg, json_object, json_select, quote_literal
from resolvers.planner.transitions import available_transitions_sql

# Beside a field the principal may not read on a row, the planner writes this
# marker key (``"salary!": true``); no GraphQL name contains "!", so it never
# collides with a response key. The schema turns it into a FORBIDDEN error.
DENIED_SUFFIX = "!"

# The pageInfo fields read from the page's rows.
_CURSOR_FIELDS = frozenset({"startCursor", "endCursor"})


@dataclass(frozen=True)
class Plan:
    sql: str
    params: dict[str, Any]
    # Whether some selected field may be withheld (and needs a FORBIDDEN error).
    restricted: bool = False
    # Whether the JSON it builds is compact throughout, byte for byte what the API's encoder
    # writes for the same value (``sqltext.json_object``): then it may be sent as it is.
    compact: bool = False
    # A lookup's parameter holding the row's primary key (``one``): the one value a cached plan
    # of the same lookup binds anew for another key (``schema/plan_templates.py``).
    key_param: str | None = None
    # The same statement written for a transaction whose TimeZone is the organization's
    # (None: there is no such form): each row's local time is then a plain cast, where
    # ``AT TIME ZONE`` looks the zone up by name for every row, two thirds of what bucketing
    # a large aggregate costs. Only a runner that sets the zone around it may run it
    # (``fetch_value_in_zone``: ``RequestTransaction``, ``BatchedStatements``).
    zoned_sql: str | None = None


class Planner:
    def __init__(self, catalog: Catalog, access: Access, limits: PageLimits) -> None:
        self.catalog = catalog
        self.access = access
        self.limits = limits
        self.params = SqlParams()
        self.restricted = False
        # False once a selected column holds stored jsonb (``Column.compact``).
        self.compact_columns = True
        # (what the statement converts to local time per row, what it becomes when the
        # transaction's TimeZone is the organization's): set by a statement that has such a
        # form (``resolvers/analytics/compile.py``).
        self.zoned: tuple[str, str] | None = None

    @property
    def filters(self) -> FilterCompiler:
        # Made when a filter is compiled, not kept: a compiler kept here would hold the planner's
        # own bound methods, a reference cycle that leaves every planner to the cyclic collector.
        return FilterCompiler(self.params, self.catalog.__getitem__, self.scope, self.filter_guard)

    # -- root fields -------------------------------------------------------------

    def one(self, type_name: str, pk: int, selection: FieldSelection, *, typename: bool = False) -> Plan:
        entity = self.catalog[type_name]
        alias = self.params.alias()
        pairs = self.object_pairs(entity, alias, selection.selections, typename=typename)
        key = self.params.bind(pk, "bigint")
        key_param = self.params.last_name
        where = f"{alias}.id = {key} AND {self.scope(entity, alias)}"
        return replace(self.plan(json_select(pairs, f"{entity.table} {alias} WHERE {where}")), key_param=key_param)

    def connection(self, type_name: str, selection: FieldSelection) -> Plan:
        entity = self.catalog[type_name]
        sql = f"SELECT {self.connection_json(entity, selection, lambda a: [])}"
        return self.plan(sql)

    def plan(self, sql: str) -> Plan:
        """The statement with what the planner learnt building it."""
        zoned_sql = None
        if self.zoned is not None:
            per_row, in_zone = self.zoned
            zoned_sql = sql.replace(per_row, in_zone)
        return Plan(
            sql, self.params.values, self.restricted, self.compact_columns and is_compact(sql), zoned_sql=zoned_sql
        )

    # -- the policy ----------------------------------------------------------------

    def scope(self, entity: Entity, alias: str) -> str:
        """The principal's row predicate for ``entity`` aliased ``alias``."""
        rows = self.access.rows(entity, alias, self.params)
        return f"{rows} AND {entity.where.format(t=alias)}" if entity.where else rows

    def _guarded_pairs(self, entity: Entity, alias: str, key: str, name: str, value: str) -> list[tuple[str, str]]:
        """The field's JSON pair, fetched only where the principal may read it."""
        if name not in restricted_fields(entity.name):
            return [(key, value)]
        guard = self.access.field(entity, name, alias, self.params)
        if not guard.restricted:
            return [(key, value)]
        self.restricted = True
        if guard.readable_sql is None:  # denied on every row: never fetched
            return [(key, "NULL"), (key + DENIED_SUFFIX, "true")]
        readable = f"COALESCE({guard.readable_sql}, false)"
        return [(key, f"CASE WHEN {readable} THEN {value} END"), (key + DENIED_SUFFIX, f"NOT {readable}")]

    def filter_guard(self, entity: Entity, name: str, alias: str, path: tuple[str, ...]) -> str | None:
        """A filter on a sensitive field: refused if the field is unreadable, and
        otherwise true only on rows where it is readable, so a filter never
        reveals what a select would withhold."""
        field_name = _governing_field(entity, name)
        if field_name not in restricted_fields(entity.name):
            return None
        guard = self.access.field(entity, field_name, alias, self.params)
        if not guard.restricted:
            return None
        if guard.readable_sql is None:
            raise Forbidden(f"you may not filter {entity.name} by `{name}`", field=list(path))
        return f"COALESCE({guard.readable_sql}, false)"

    def _check_sorts(self, entity: Entity, args: dict[str, Any]) -> None:
        for item in args.get("orderBy") or ():
            sort = item["field"].name if isinstance(item["field"], enum.Enum) else str(item["field"])
            field_name = _camel(sort)
            # An order reveals values; it is allowed only where every value is readable.
            if (
                field_name in restricted_fields(entity.name)
                and self.access.field(entity, field_name, "_", self.params).restricted
            ):
                raise Forbidden(f"you may not sort {entity.name} by {sort}", field=["orderBy"])

    def object_json(
        self, entity: Entity, alias: str, selections: tuple[FieldSelection, ...], *, typename: bool = False
    ) -> str:
        return json_object(self.object_pairs(entity, alias, selections, typename=typename))

    def object_pairs(
        self, entity: Entity, alias: str, selections: tuple[FieldSelection, ...], *, typename: bool = False
    ) -> list[tuple[str, str]]:
        """The (key, SQL value) pairs of the row's object, in the selection's order."""
        pairs: list[tuple[str, str]] = [("__typename", quote_literal(entity.name))] if typename else []
        for selection in selections:
            if selection.name == "__typename":
                pairs.append((selection.key, quote_literal(entity.name)))
            else:
                value = self.field_sql(entity, alias, selection)
                pairs.extend(self._guarded_pairs(entity, alias, selection.key, selection.name, value))
        return pairs

    def field_sql(self, entity: Entity, alias: str, selection: FieldSelection) -> str:
        field = entity.fields[selection.name]
        if isinstance(field, Column):
            self.compact_columns = self.compact_columns and field.compact
            return field.as_json_value(alias)
        if isinstance(field, GlobalId):
            return global_id_sql(entity.name, f"{alias}.id")
        if isinstance(field, ForeignId):
            ref = field.render(alias)
            return f"CASE WHEN {ref} IS NULL THEN NULL ELSE {global_id_sql(field.target, ref)} END"
        if isinstance(field, ToOne):
            return self.to_one_json(field, alias, selection)
        if isinstance(field, Embedded):
            return json_object(
                [
                    (
                        s.key,
                        quote_literal(field.type_name)
                        if s.name == "__typename"
                        else field.fields[s.name].as_json_value(alias),
                    )
                    for s in selection.selections
                ]
            )
        if isinstance(field, Transitions):
            return available_transitions_sql(MACHINES[field.machine], self.access, entity, alias, self.params)
        if isinstance(field, ToMany):
            target = self.catalog[field.target]
            return self.connection_json(
                target,
                selection,
                lambda child: (
                    [f"{child}.{field.remote} = {alias}.{field.local}"]
                    + ([field.where.format(c=child)] if field.where else [])
                ),
                shared=frozenset({field.remote}),
            )
        raise TypeError(f"unplannable field {entity.name}.{selection.name}")

    def to_one_json(self, relation: ToOne, alias: str, selection: FieldSelection) -> str:
        target = self.catalog[relation.target]
        inner = self.params.alias()
        pairs = self.object_pairs(target, inner, selection.selections)
        extra = f" AND {relation.where.format(c=inner)}" if relation.where else ""
        where = f"{inner}.{relation.remote} = {alias}.{relation.local} AND {self.scope(target, inner)}{extra}"
        return f"({json_select(pairs, f'{target.table} {inner} WHERE {where}')})"

    def _where(self, entity: Entity, alias: str, base: Callable[[str], list[str]], filter_spec: Any) -> list[str]:
        return [*base(alias), self.scope(entity, alias), self.filters.compile(entity, alias, filter_spec)]

    def connection_json(
        self,
        entity: Entity,
        selection: FieldSelection,
        base: Callable[[str], list[str]],
        *,
        shared: frozenset[str] = frozenset(),
    ) -> str:
        """``shared``: columns whose value every row of the list has in common (a nested
        list's foreign key), so that with them fewer sort columns may order it totally."""
        args = selection.args
        page = page_request(entity, args, self.limits)
        page = replace(page, ordered_by=unique_prefix(entity, page.columns, shared))
        self._check_sorts(entity, args)
        pairs: list[tuple[str, str]] = []
        page_alias = self.params.alias("p")
        needs_page = False
        for child in selection.selections:
            if child.name == "__typename":
                pairs.append((child.key, quote_literal(f"{entity.name}Connection")))
            elif child.name == "totalCount":
                counted = self.params.alias()
                where = " AND ".join(self._where(entity, counted, base, args.get("filter")))
                pairs.append((child.key, f"(SELECT count(*) FROM {entity.table} {counted} WHERE {where})"))
            elif child.name == "edges":
                needs_page = True
                pairs.append((child.key, self._edges(entity, page_alias, page, child)))
            elif child.name == "nodes":
                needs_page = True
                node = self.object_json(entity, page_alias, child.selections)
                pairs.append((child.key, self._page_agg(node, page_alias, page)))
            elif child.name == "pageInfo":
                # Cursors aggregate over the page's rows; whether more rows exist
                # is a subquery of its own and reads no page.
                needs_page = needs_page or any(c.name in _CURSOR_FIELDS for c in child.selections)
                pairs.append((child.key, self._page_info(entity, page_alias, page, child, base, args.get("filter"))))
        obj = json_object(pairs)
        if not needs_page:
            return f"(SELECT {obj})"
        return f"(SELECT {obj} FROM ({self._page_rows(entity, page, base, args.get('filter'))}) {page_alias})"

    def _order_sql(self, page: PageRequest, alias: str, *, reverse: bool = False) -> str:
        """The scan order of the page's rows over ``alias`` (a table, or the page subquery, which
        has all its columns); ``reverse``: the other way round. The order is total (it ends with
        the id), and a flipped direction flips where NULLs go too (last ascending, first
        descending), so the reverse is exactly the scan backwards. Ordering the page's rows by
        the columns again, rather than by a row number the page subquery would compute over a
        window, spares PostgreSQL a window per page (per parent row, for a nested list)."""
        return ", ".join(f"{c.render(alias)} {'DESC' if d != reverse else 'ASC'}" for c, d in page.scan_order)

    def _page_rows(self, entity: Entity, page: PageRequest, base: Callable[[str], list[str]], filter_spec: Any) -> str:
        # Exactly the page's rows, never one more: every row of this subquery gets
        # the nested selection built for it, and PostgreSQL costs the plan as if
        # it did, even where an aggregate's FILTER would skip the row at run time.
        # With one extra row per page for ``hasNextPage``, a chain of ``first: 1``
        # connections was estimated at twice the cost per level (seconds of JIT
        # compilation at about ten levels, the statement timeout at fifty);
        # whether more rows follow is asked separately (``_rows_beyond_page``).
        alias = self.params.alias()
        where = self._page_where(entity, alias, page, base, filter_spec)
        order = self._order_sql(page, alias)
        limit = self.params.bind(page.size, "bigint")
        rows = f"SELECT {alias}.* FROM {entity.table} {alias} WHERE {' AND '.join(where)}"
        return f"{rows} ORDER BY {order} LIMIT {limit}"

    def _page_where(
        self, entity: Entity, alias: str, page: PageRequest, base: Callable[[str], list[str]], filter_spec: Any
    ) -> list[str]:
        """The rows the page is read from, in scan order: those past the cursor."""
        where = self._where(entity, alias, base, filter_spec)
        if page.cursor is not None:
            where.append(after_sql(page.columns, page.scan_descending, page.cursor, alias, self.params))
        return where

    def _rows_beyond_page(
        self, entity: Entity, page: PageRequest, base: Callable[[str], list[str]], filter_spec: Any
    ) -> str:
        """Whether the scan goes on after the page: a row at position ``size + 1``.

        It reads the keys of at most ``size + 1`` rows and builds nothing for them,
        so it costs one index range whatever is nested below the connection."""
        alias = self.params.alias()
        where = self._page_where(entity, alias, page, base, filter_spec)
        order = self._order_sql(page, alias)
        offset = self.params.bind(page.size, "bigint")
        return (
            f"EXISTS (SELECT 1 FROM {entity.table} {alias}"
            f" WHERE {' AND '.join(where)} ORDER BY {order} OFFSET {offset} LIMIT 1)"
        )

    def _page_agg(self, value: str, alias: str, page: PageRequest) -> str:
        # Backward pages are read in reverse; edges still go out in the list's order.
        return json_array_agg(value, self._order_sql(page, alias, reverse=not page.forward))

    def _edges(self, entity: Entity, alias: str, page: PageRequest, edges: FieldSelection) -> str:
        pairs = []
        for child in edges.selections:
            if child.name == "__typename":
                pairs.append((child.key, quote_literal(f"{entity.name}Edge")))
            elif child.name == "cursor":
                pairs.append((child.key, cursor_sql(page.signature, page.columns, alias)))
            elif child.name == "node":
                pairs.append((child.key, self.object_json(entity, alias, child.selections)))
        return self._page_agg(json_object(pairs), alias, page)

    def _page_info(
        self,
        entity: Entity,
        alias: str,
        page: PageRequest,
        info: FieldSelection,
        base: Callable[[str], list[str]],
        filter_spec: Any,
    ) -> str:
        cursor = cursor_sql(page.signature, page.columns, alias)

        def more_in_scan() -> str:
            return self._rows_beyond_page(entity, page, base, filter_spec)

        def behind() -> str:
            return self._rows_behind_cursor(entity, page, base, filter_spec)

        def first_of_scan() -> str:
            return f"(array_agg({cursor} ORDER BY {self._order_sql(page, alias)}))[1]"

        def last_of_scan() -> str:
            return f"(array_agg({cursor} ORDER BY {self._order_sql(page, alias, reverse=True)}))[1]"

        # Built only when selected: the existence checks are subqueries of their own.
        values: dict[str, Callable[[], str]] = {
            "hasNextPage": more_in_scan if page.forward else behind,
            "hasPreviousPage": behind if page.forward else more_in_scan,
            "startCursor": first_of_scan if page.forward else last_of_scan,
            "endCursor": last_of_scan if page.forward else first_of_scan,
            "__typename": lambda: quote_literal("PageInfo"),
        }
        return json_object([(child.key, values[child.name]()) for child in info.selections])

    def _rows_behind_cursor(
        self, entity: Entity, page: PageRequest, base: Callable[[str], list[str]], filter_spec: Any
    ) -> str:
        """Whether rows exist on the other side of the cursor (at or before it in scan order)."""
        if page.cursor is None:
            return "false"
        alias = self.params.alias()
        where = self._where(entity, alias, base, filter_spec)
        where.append("NOT " + after_sql(page.columns, page.scan_descending, page.cursor, alias, self.params))
        return f"EXISTS (SELECT 1 FROM {entity.table} {alias} WHERE {' AND '.join(where)})"


def _camel(sort_name: str) -> str:
    """A sort enum value's field: ``CREDIT_LIMIT`` → ``creditLimit``."""
    head, *rest = sort_name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


def _governing_field(entity: Entity, filter_name: str) -> str:
    """The field whose policy governs a filter: ``salesRepId`` → ``salesRep``."""
    if filter_name in entity.fields:
        return filter_name
    if filter_name.endswith("Id") and filter_name[:-2] in entity.fields:
        return filter_name[:-2]
    return filter_name
