"""The event catalog as a Markdown table: what README.md shows integrators.

``python -m app.events`` prints it; a test keeps README.md's copy current."""

from __future__ import annotations

import datetime as dt
import types
import typing
from decimal import Decimal
from typing import Any, NotRequired, Required, Union, get_args, get_origin, get_type_hints

from app.events.catalog import CATALOG, EventType

_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    bool: "boolean",
    Decimal: "decimal string",
    dt.datetime: "date-time",
    dt.date: "date",
    type(None): "null",
}


def type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Required, NotRequired):
        return type_name(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(arm) for arm in get_args(annotation))
    if origin is typing.Literal:
        return " / ".join(f'"{value}"' for value in get_args(annotation))
    if origin in (list, tuple):
        return f"list of {type_name(get_args(annotation)[0])}"
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def payload_fields(event: EventType[Any]) -> str:
    hints = get_type_hints(event.payload, include_extras=True)
    required = event.required_keys
    return ", ".join(
        f"`{key}{'' if key in required else '?'}` {type_name(annotation)}" for key, annotation in hints.items()
    )


def markdown_table() -> str:
    lines = ["| event | about | payload (`?`: not always present) | meaning |", "| --- | --- | --- | --- |"]
    for name in sorted(CATALOG):
        event = CATALOG[name]
        lines.append(f"| `{name}` | {event.entity} | {payload_fields(event)} | {event.description} |")
    return "\n".join(lines) + "\n"
