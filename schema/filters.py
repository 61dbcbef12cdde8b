"""Filter operator inputs per scalar kind (DESIGN §3): ``eq neq gt gte lt lte in nin isNull like ilike``."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import functools
from types import GenericAlias
from typing import Any

import strawberry
from strawberry import UNSET

from resolvers.planner.catalog import Kind


def _describe(kind: str) -> str:
    return f"Conditions on a {kind} value; all given conditions must hold."


@strawberry.input(description=_describe("text"))
class StringFilter:
    eq: str | None = strawberry.field(default=UNSET, description="Equal to.")
    neq: str | None = strawberry.field(default=UNSET, description="Not equal to.")
    in_: list[str] | None = strawberry.field(name="in", default=UNSET, description="One of (at most 1000).")
    nin: list[str] | None = strawberry.field(default=UNSET, description="None of (at most 1000).")
    like: str | None = strawberry.field(default=UNSET, description="SQL LIKE pattern (% and _), case-sensitive.")
    ilike: str | None = strawberry.field(default=UNSET, description="SQL ILIKE pattern, case-insensitive.")
    is_null: bool | None = strawberry.field(default=UNSET, description="true: no value; false: has a value.")


def _ordered_filter(name: str, python_type: type, kind: str) -> type:
    """An input with equality, ordering and set operators for one scalar type."""
    one: object = python_type | None
    many: object = GenericAlias(list, (python_type,)) | None
    namespace: dict[str, Any] = {"__annotations__": {}}
    operators = {
        "eq": "Equal to.",
        "neq": "Not equal to.",
        "gt": "Greater than.",
        "gte": "Greater than or equal to.",
        "lt": "Less than.",
        "lte": "Less than or equal to.",
    }
    for op, description in operators.items():
        namespace["__annotations__"][op] = one
        namespace[op] = strawberry.field(default=UNSET, description=description)
    namespace["__annotations__"]["in_"] = many
    namespace["in_"] = strawberry.field(name="in", default=UNSET, description="One of (at most 1000).")
    namespace["__annotations__"]["nin"] = many
    namespace["nin"] = strawberry.field(default=UNSET, description="None of (at most 1000).")
    namespace["__annotations__"]["is_null"] = bool | None
    namespace["is_null"] = strawberry.field(default=UNSET, description="true: no value; false: has a value.")
    return strawberry.input(type(name, (), namespace), description=_describe(kind))


IntFilter = _ordered_filter("IntFilter", int, "whole number")
DecimalFilter = _ordered_filter("DecimalFilter", decimal.Decimal, "decimal")
DateTimeFilter = _ordered_filter("DateTimeFilter", dt.datetime, "date-time")
DateFilter = _ordered_filter("DateFilter", dt.date, "date")


@strawberry.input(description=_describe("boolean"))
class BooleanFilter:
    eq: bool | None = strawberry.field(default=UNSET, description="Equal to.")
    is_null: bool | None = strawberry.field(default=UNSET, description="true: no value; false: has a value.")


@strawberry.input(description="Conditions on an ID (global IDs of the referenced type).")
class IDFilter:
    eq: strawberry.ID | None = strawberry.field(default=UNSET, description="Equal to.")
    neq: strawberry.ID | None = strawberry.field(default=UNSET, description="Not equal to.")
    in_: list[strawberry.ID] | None = strawberry.field(name="in", default=UNSET, description="One of (at most 1000).")
    nin: list[strawberry.ID] | None = strawberry.field(default=UNSET, description="None of (at most 1000).")
    is_null: bool | None = strawberry.field(default=UNSET, description="true: no reference; false: has one.")


@functools.cache
def enum_filter(enum_type: type[enum.Enum]) -> type:
    """``<Enum>Filter`` with ``eq neq in nin isNull`` (one per enum, however many columns hold it)."""
    one: object = enum_type | None
    many: object = GenericAlias(list, (enum_type,)) | None
    namespace: dict[str, Any] = {
        "__annotations__": {"eq": one, "neq": one, "in_": many, "nin": many, "is_null": bool | None},
        "eq": strawberry.field(default=UNSET, description="Equal to."),
        "neq": strawberry.field(default=UNSET, description="Not equal to."),
        "in_": strawberry.field(name="in", default=UNSET, description="One of."),
        "nin": strawberry.field(default=UNSET, description="None of."),
        "is_null": strawberry.field(default=UNSET, description="true: no value; false: has a value."),
    }
    name = f"{enum_type.__name__}Filter"
    return strawberry.input(type(name, (), namespace), description=f"Conditions on a {enum_type.__name__}.")


# The operator input of each column kind of the planner's catalog; an enum
# column's comes from ``enum_filter`` and a JSON column cannot be filtered.
SCALAR_FILTERS: dict[Kind, type] = {
    "text": StringFilter,
    "int": IntFilter,
    "bigint": IntFilter,
    "decimal": DecimalFilter,
    "datetime": DateTimeFilter,
    "date": DateFilter,
    "bool": BooleanFilter,
}
