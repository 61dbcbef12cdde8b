"""Scalars: ``Decimal`` as a string, ``DateTime`` ISO 8601 with an offset, ``Date``.

Values produced by the planner arrive already rendered by PostgreSQL (strings);
values produced in Python are rendered here the same way.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from strawberry.types.scalar import ScalarDefinition


def _serialize_decimal(value: Any) -> str:
    if isinstance(value, str):
        return value
    return format(decimal.Decimal(value), "f")


def _parse_decimal(value: Any) -> decimal.Decimal:
    # Floats are refused: a JSON number like 0.1 is already inexact.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError('Decimal values are strings of digits, e.g. "100.00"')
    try:
        parsed = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not parsed.is_finite():
        raise ValueError(f"{value!r} is not a finite decimal number")
    exponent = parsed.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: only NaN and infinity have 'n', 'N' or 'F' here
    if abs(exponent) > 12 or parsed.adjusted() > 18:
        raise ValueError(f"{value!r} has too many digits")
    return parsed


def _serialize_datetime(value: str | dt.datetime) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("refusing to serialize a naive datetime")
    return value.isoformat()


def _parse_datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime values are ISO 8601 strings with an offset")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset (e.g. 2025-01-31T09:00:00Z)")
    return parsed


def _serialize_date(value: str | dt.date) -> str:
    return value if isinstance(value, str) else value.isoformat()


def _parse_date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise ValueError("Date values are ISO 8601 strings, e.g. 2025-01-31")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date") from None


SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    decimal.Decimal: ScalarDefinition(
        name="Decimal",
        description='An exact decimal number, as a string (e.g. "1234.50"). Money uses two decimal places.',
        specified_by_url=None,
        serialize=_serialize_decimal,
        parse_value=_parse_decimal,
        parse_literal=None,
    ),
    dt.datetime: ScalarDefinition(
        name="DateTime",
        description='An instant in ISO 8601 with its UTC offset (e.g. "2025-01-31T09:30:00+00:00").',
        specified_by_url=None,
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
        parse_literal=None,
    ),
    dt.date: ScalarDefinition(
        name="Date",
        description='A calendar date in ISO 8601 (e.g. "2025-01-31").',
        specified_by_url=None,
        serialize=_serialize_date,
        parse_value=_parse_date,
        parse_literal=None,
    ),
}
