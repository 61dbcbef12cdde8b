"""Holds every outbox row a test database collected against the event catalog.

``outbox_problems`` reads a database's outbox and reports each row whose event
type is not declared in ``app.events.CATALOG``, whose entity type differs from
the declaration, or whose payload does not match the declared ``TypedDict``
(as the outbox stores it: JSON, with ``Decimal`` as a decimal string and
``datetime``/``date`` as ISO 8601 strings)."""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from decimal import Decimal
from typing import Any, NotRequired, Required, Union, get_args, get_origin, get_type_hints

import psycopg

from app.events import CATALOG, EventType
from app.events.catalog import required_keys

_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


def value_problem(value: Any, annotation: Any) -> str | None:
    """Why a JSON ``value`` does not fit ``annotation``, or None when it does."""
    origin = get_origin(annotation)
    if origin in (Required, NotRequired):
        return value_problem(value, get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        problems = [value_problem(value, arm) for arm in get_args(annotation)]
        return None if any(problem is None for problem in problems) else f"{value!r} fits none of {annotation}"
    if origin is typing.Literal:
        return None if value in get_args(annotation) else f"{value!r} is not one of {get_args(annotation)}"
    if origin in (list, tuple, typing.Sequence) or annotation in (list, tuple):
        if not isinstance(value, list):
            return f"{value!r} is not a list"
        (item,) = get_args(annotation)[:1] or (Any,)
        return next((p for p in (value_problem(v, item) for v in value) if p), None)
    if annotation is Any:
        return None
    if annotation is type(None):
        return None if value is None else f"{value!r} is not null"
    if annotation is bool:
        return None if isinstance(value, bool) else f"{value!r} is not a boolean"
    if annotation is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else f"{value!r} is not a whole number"
    if annotation is str:
        return None if isinstance(value, str) else f"{value!r} is not a string"
    if annotation is Decimal:
        ok = isinstance(value, str) and _DECIMAL.fullmatch(value)
        return None if ok else f"{value!r} is not a decimal string"
    if annotation is dt.datetime:
        return _iso(value, dt.datetime.fromisoformat, "a date-time with offset", need_offset=True)
    if annotation is dt.date:
        return _iso(value, dt.date.fromisoformat, "a date")
    if typing.is_typeddict(annotation):
        return payload_problem(value, annotation)
    return f"no rule for {annotation!r}"


def _iso(value: Any, parse: Any, what: str, *, need_offset: bool = False) -> str | None:
    if not isinstance(value, str):
        return f"{value!r} is not {what}"
    try:
        parsed = parse(value)
    except ValueError:
        return f"{value!r} is not {what}"
    if need_offset and parsed.utcoffset() is None:
        return f"{value!r} has no UTC offset"
    return None


def payload_problem(payload: Any, declared: Any) -> str | None:
    if not isinstance(payload, dict):
        return f"{payload!r} is not an object"
    hints = get_type_hints(declared, include_extras=True)
    required = required_keys(declared)
    missing = sorted(required - payload.keys())
    extra = sorted(payload.keys() - hints.keys())
    if missing or extra:
        return f"missing {missing}, undeclared {extra}"
    for key, value in payload.items():
        problem = value_problem(value, hints[key])
        if problem:
            return f"{key}: {problem}"
    return None


def row_problem(event_type: str, entity_type: str, payload: Any) -> str | None:
    event: EventType[Any] | None = CATALOG.get(event_type)
    if event is None:
        return f"{event_type}: not declared in the event catalog"
    if entity_type != event.entity:
        return f"{event_type}: about a {entity_type}, declared about a {event.entity}"
    problem = payload_problem(payload, event.payload)
    return None if problem is None else f"{event_type}: payload {problem}"


def outbox_problems(conninfo: str) -> list[str]:
    """One line per distinct problem found in the outbox of the database at ``conninfo``."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('public.outbox') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return []
        rows = conn.execute("SELECT event_type, entity_type, payload FROM outbox").fetchall()
    problems = {row_problem(event_type, entity_type, payload) for event_type, entity_type, payload in rows}
    return sorted(problem for problem in problems if problem)
