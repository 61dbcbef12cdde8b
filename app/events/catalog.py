"""How events are declared and announced (the declarations live beside this module)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_type_hints

P = TypeVar("P", bound=Mapping[str, Any])

CATALOG: dict[str, EventType[Any]] = {}


@dataclass(frozen=True)
class EventType(Generic[P]):
    """One kind of event: ``name`` (``order.placed``), the entity type it is about,
    what it means, and the ``TypedDict`` its payload follows."""

    name: str
    entity: str
    description: str
    payload: type[P]

    @property
    def required_keys(self) -> frozenset[str]:
        return frozenset(getattr(self.payload, "__required_keys__", frozenset()))

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(get_type_hints(self.payload))


@dataclass(frozen=True)
class Announcement:
    """An event a command announces: its type and its payload, checked against the declaration."""

    event: EventType[Any]
    payload: Mapping[str, Any]


def declare(name: str, entity: str, payload: type[P], description: str) -> EventType[P]:
    if name in CATALOG:
        raise ValueError(f"event {name!r} is declared twice")
    event = EventType(name, entity, description, payload)
    CATALOG[name] = event
    return event


def announce(event: EventType[P], payload: P) -> Announcement:
    """The event with its payload; a payload that strays from the declaration is a bug."""
    keys = payload.keys()
    missing = event.required_keys - keys
    extra = keys - event.keys
    if missing or extra:
        raise TypeError(f"{event.name}: payload lacks {sorted(missing)} or has undeclared {sorted(extra)}")
    return Announcement(event, payload)
