"""Filter arguments (``{status: {eq: PLACED}, and: [...], or: [...], not: {...}}``) → SQL.

Operators apply as the column kind allows (the schema's filter input types only
offer those); every value is a bind parameter cast to the column's SQL type.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from app.errors import BadUserInput
from resolvers.planner.catalog import Column, Entity, ForeignId, ToOne
from resolvers.planner.ids import decode_id
from resolvers.planner.sqltext import SqlParams

MAX_LIST_VALUES = 1000
MAX_DEPTH = 10

_COMPARISONS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class FilterCompiler:
    """Compiles one entity's filter argument; ``resolve_entity`` follows relations."""

    def __init__(
        self,
        params: SqlParams,
        resolve_entity: Callable[[str], Entity],
        scope_sql: Callable[[Entity, str], str],
        field_guard: Callable[[Entity, str, str, tuple[str, ...]], str | None],
    ) -> None:
        self.params = params
        self.resolve_entity = resolve_entity
        # scope_sql(entity, alias) → the row predicate of the principal (org and policy).
        self.scope_sql = scope_sql
        # field_guard(entity, filter key, alias, path) → None, or the rows on which
        # the filtered field is readable; raises if it is readable on none.
        self.field_guard = field_guard

    def compile(
        self, entity: Entity, alias: str, spec: dict[str, Any] | None, path: tuple[str, ...] = ("filter",)
    ) -> str:
        if not spec:
            return "TRUE"
        if len(path) > MAX_DEPTH:
            raise BadUserInput("filter is nested too deeply", field=list(path))
        parts: list[str] = []
        for key, value in spec.items():
            if value is None:
                continue
            here = (*path, key)
            if key == "and":
                parts.extend(self.compile(entity, alias, item, here) for item in value)
            elif key == "or":
                if value:
                    parts.append("(" + " OR ".join(self.compile(entity, alias, item, here) for item in value) + ")")
                else:
                    parts.append("FALSE")
            elif key == "not":
                parts.append(f"NOT ({self.compile(entity, alias, value, here)})")
            else:
                target = entity.filters[key]
                if isinstance(target, ToOne):
                    parts.append(self._relation(target, alias, value, here))
                    continue
                condition = self._operators(target, alias, value, here)
                readable = self.field_guard(entity, key, alias, here)
                parts.append(condition if readable is None else f"({readable} AND {condition})")
        return "(" + " AND ".join(parts) + ")" if parts else "TRUE"

    def _relation(self, relation: ToOne, alias: str, spec: dict[str, Any], path: tuple[str, ...]) -> str:
        target = self.resolve_entity(relation.target)
        inner = self.params.alias()
        condition = self.compile(target, inner, spec, path)
        return (
            f"EXISTS (SELECT 1 FROM {target.table} {inner} WHERE {inner}.{relation.remote} = {alias}.{relation.local}"
            f" AND {self.scope_sql(target, inner)} AND {condition})"
        )

    def _operators(self, target: Column | ForeignId, alias: str, ops: dict[str, Any], path: tuple[str, ...]) -> str:
        convert: Callable[[Any, tuple[str, ...]], Any]  # an API filter value to the value bound
        if isinstance(target, ForeignId):
            expr, sql_type = target.render(alias), "bigint"
            convert = lambda v, p: decode_id(v, target.target)[1]  # noqa: E731
        else:
            expr, sql_type = target.render(alias), target.sql_type
            convert = _plain
        parts = []
        for op, value in ops.items():
            if value is None:
                continue
            here = (*path, op)
            if op == "isNull":
                parts.append(f"{expr} IS {'' if value else 'NOT '}NULL")
            elif op in _COMPARISONS:
                parts.append(f"{expr} {_COMPARISONS[op]} {self.params.bind(convert(value, here), sql_type)}")
            elif op in ("in", "nin"):
                if len(value) > MAX_LIST_VALUES:
                    raise BadUserInput(f"at most {MAX_LIST_VALUES} values in `{op}`", field=list(here))
                values = [convert(v, here) for v in value]
                test = f"{expr} = ANY({self.params.bind(values, sql_type + '[]')})"
                parts.append(test if op == "in" else f"NOT ({test})")
            elif op in ("like", "ilike"):
                parts.append(f"{expr} {op.upper()} {self.params.bind(str(value), 'text')}")
            else:  # the schema's input types never offer anything else
                raise BadUserInput(f"unknown filter operator {op!r}", field=list(here))
        return "(" + " AND ".join(parts) + ")" if parts else "TRUE"


def _plain(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, enum.Enum):
        # API enum values are the upper-case names of the stored lower-case values.
        return str(value.value).lower()
    if isinstance(value, Decimal) and not value.is_finite():
        raise BadUserInput("a decimal filter value must be a finite number", field=list(path))
    return value
