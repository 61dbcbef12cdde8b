"""Grouped aggregates → one SQL statement.

Groups by an optional time bucket (in the organization's time zone) and any
dimensions; sums are NUMERIC, so exact; averages of money are rounded to cents.
The statement returns the groups as the response's compact JSON array, or NULL when
there are more than allowed.
"""

from __future__ import annotations

import enum
from typing import Any

from app.auth.access import readable_in_aggregate
from app.auth.policy import SMALL_GROUP
from app.errors import BadUserInput, Forbidden
from resolvers.analytics.spec import Aggregate, Dimension
from resolvers.planner.compile import DENIED_SUFFIX, Planner
from resolvers.planner.selection import FieldSelection
from resolvers.planner.sqltext import json_array_agg, json_object, json_select, quote_literal

BUCKETS = {"DAY": "day", "WEEK": "week", "MONTH": "month", "QUARTER": "quarter", "YEAR": "year"}
FUNCTIONS = ("sum", "avg", "min", "max")


class TooManyGroups(BadUserInput):
    code = "TOO_MANY_GROUPS"


def _name(value: Any) -> str:
    return value.name if isinstance(value, enum.Enum) else str(value)


def compile_aggregate(planner: Planner, spec: Aggregate, selection: FieldSelection) -> str:
    params = planner.params
    entity = planner.catalog[spec.entity]
    group_by = selection.args.get("groupBy") or {}
    bucket = group_by.get("bucket")
    dimensions = [spec.dimensions[_name(d)] for d in dict.fromkeys(group_by.get("dimensions") or [])]

    base = params.alias()
    scope = planner.access.aggregate_rows(entity, base, params)
    if scope is None:
        raise Forbidden(f"you may not aggregate {entity.name} rows")
    join_aliases = {name: params.alias("j") for name in spec.joins}

    def render(template: str) -> str:
        return template.format(t=base, **join_aliases)

    needed = set(spec.time_joins if bucket else ()) | {j for d in dimensions for j in d.joins}
    joins = []
    for name in sorted(needed):
        join = spec.joins[name]
        target = planner.catalog[join.entity]
        alias = join_aliases[name]
        joins.append(
            f" LEFT JOIN {target.table} {alias} ON {alias}.id = {base}.{join.local} AND {planner.scope(target, alias)}"
        )

    # (output column, what rows are grouped by, how the group shows it over {v})
    keys: list[tuple[str, str, str]] = []
    if bucket is not None:
        # The session's zone changes nothing else the statement answers: the groups' keys and
        # measures are dates, numbers and text; only an entity a dimension names could carry
        # an instant (rendered in the session's zone), so none may be grouped by.
        zoned = all(dimension.target is None for dimension in dimensions)
        keys.append(("bucket", _bucket(planner, spec, _name(bucket), render, zoned=zoned), "{v}"))
    for i, dimension in enumerate(dimensions):
        keys.append((f"d{i}", render(dimension.sql), dimension.presented))

    measures = _selected_measures(selection)
    columns = [f"{expr} AS k{i}" for i, (_, expr, _) in enumerate(keys)] + ["count(*) AS n"]
    for function, measure_name in measures:
        measure = spec.measures[measure_name]
        expr = render(measure.sql)
        if function == "avg":
            # Money averages are rounded to cents; unit counts keep four places.
            aggregated = f"round(avg({expr}), {2 if measure.kind == 'decimal' else 4})"
        else:
            aggregated = f"{function}({expr})"
        columns.append(f"{aggregated} AS {function}_{measure_name}")

    where = f"{scope} AND {planner.filters.compile(entity, base, selection.args.get('filter'))}"
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    grouped = f"SELECT {', '.join(columns)} FROM {entity.table} {base}{''.join(joins)} WHERE {where}{group}"
    # Groups are shown, ordered and capped on their presented values, a few rows after the
    # grouping rather than once per row before it.
    shown = [f"{presented.format(v=f'x.k{i}')} AS {name}" for i, (name, _, presented) in enumerate(keys)]
    shown += ["x.n"] + [f"x.{function}_{measure_name}" for function, measure_name in measures]
    # How many groups there are, beside each: no sort, so the grouping stays a hash of the
    # rows (an ORDER BY or a window ordered here would have PostgreSQL sort every row to
    # group them in order, since it expects as many groups as rows).
    shown.append("count(*) OVER () AS n_groups")
    limit = params.bind(planner.limits.max_groups, "bigint")
    group_json = json_object(_group_pairs(planner, spec, selection, dimensions, [name for name, _, _ in keys]))
    order = ", ".join(f"g.{name} NULLS LAST" for name, _, _ in keys)
    # Over the cap the answer is NULL (TOO_MANY_GROUPS, ``reads.plan_aggregate``) and no
    # group's JSON is built; under it, the groups' compact JSON array as the response holds it.
    groups = json_array_agg(group_json, order, where=f"g.n_groups <= {limit}")
    each = f"SELECT {', '.join(shown)} FROM ({grouped}) x"
    return f"SELECT CASE WHEN count(*) <= {limit} THEN {groups} END FROM ({each}) g"


def _bucket(planner: Planner, spec: Aggregate, bucket: str, render: Any, *, zoned: bool) -> str:
    """The date of a row's time bucket, in the organization's time zone for instants.

    The instant is read as a local time once, then truncated: the same date as truncating
    in the zone (``date_trunc`` with a zone) and reading the result back, at a third of the
    cost per row. A day needs no truncation at all. ``zoned``: the statement may also be
    run with the transaction's TimeZone set to the organization's (``Plan.zoned_sql``), where
    the local time is a plain cast: nothing else it answers depends on the session's zone."""
    unit = BUCKETS[bucket]
    if spec.time_kind == "date":
        local = f"({render(spec.time)})::timestamp"
    else:
        org = planner.params.bind(planner.access.org_id, "bigint")
        local = f"({render(spec.time)} AT TIME ZONE (SELECT time_zone FROM organizations WHERE id = {org}))"
        if zoned:
            # With the transaction's TimeZone the organization's, the same local time.
            planner.zoned = (local, f"({render(spec.time)})::timestamp")
    if unit == "day":
        return f"{local}::date"
    return f"date_trunc({planner.params.bind(unit, 'text')}, {local})::date"


def _selected_measures(selection: FieldSelection) -> list[tuple[str, str]]:
    wanted: dict[tuple[str, str], None] = {}
    for child in selection.selections:
        if child.name in FUNCTIONS:
            for measure in child.selections:
                if measure.name != "__typename":
                    wanted[(child.name, measure.name)] = None
    return list(wanted)


def _group_pairs(
    planner: Planner,
    spec: Aggregate,
    selection: FieldSelection,
    dimensions: list[Dimension],
    keys: list[str],
) -> list[tuple[str, str]]:
    key_of = {d.key: (f"g.d{i}", d) for i, d in enumerate(dimensions)}
    has_bucket = "bucket" in keys
    pairs: list[tuple[str, str]] = []
    for child in selection.selections:
        if child.name == "__typename":
            pairs.append((child.key, quote_literal(f"{spec.entity}Group")))
        elif child.name == "bucket":
            pairs.append((child.key, "g.bucket" if has_bucket else "NULL"))
        elif child.name == "count":
            pairs.append((child.key, "g.n"))
        elif child.name in FUNCTIONS:
            inner = []
            for measure in child.selections:
                if measure.name == "__typename":
                    inner.append((measure.key, quote_literal(f"{spec.entity}Measures")))
                    continue
                # Every measure is a Decimal string: exact, and an int sum may exceed 32 bits.
                value = f"(g.{child.name}_{measure.name})::text"
                if not readable_in_aggregate(spec.entity, measure.name, planner.access.roles):
                    # A field the principal cannot read row by row: only groups
                    # large enough that no single row shows through.
                    planner.restricted = True
                    small = f"g.n < {planner.params.bind(SMALL_GROUP, 'bigint')}"
                    inner.append((measure.key, f"CASE WHEN NOT ({small}) THEN {value} END"))
                    inner.append((measure.key + DENIED_SUFFIX, small))
                else:
                    inner.append((measure.key, value))
            pairs.append((child.key, json_object(inner)))
        elif child.name in key_of:
            column, dimension = key_of[child.name]
            if dimension.target is None:
                pairs.append((child.key, column))
            else:
                target = planner.catalog[dimension.target]
                alias = planner.params.alias()
                source = f"{target.table} {alias} WHERE {alias}.id = {column} AND {planner.scope(target, alias)}"
                members = planner.object_pairs(target, alias, child.selections)
                pairs.append((child.key, f"({json_select(members, source)})"))
        else:
            pairs.append((child.key, "NULL"))  # a dimension not grouped by
    return pairs
