"""How events are declared and announced (the declarations live beside this module)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, NotRequired, Required, TypeVar, get_origin, get_type_hints

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

    # Read from the payload's annotations once: every command announcing the event checks
    # its payload against them, and resolving the annotations is most of that check's cost.
    @cached_property
    def required_keys(self) -> frozenset[str]:
        return required_keys(self.payload)

    @cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(get_type_hints(self.payload))

    def announce(self, payload: P) -> Announcement:
        """This event with its payload. mypy holds the payload to the declared
        ``TypedDict``; at run time a missing or undeclared key is refused too
        (a payload that strays from the declaration is a bug, not bad input)."""
        keys = payload.keys()
        missing = self.required_keys - keys
        extra = keys - self.keys
        if missing or extra:
            raise TypeError(f"{self.name}: payload lacks {sorted(missing)} or has undeclared {sorted(extra)}")
        return Announcement(self, payload)


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


def required_keys(payload: type[Any]) -> frozenset[str]:
    """The keys a ``TypedDict`` requires, read from its annotations. This also holds
    where they are strings (``from __future__ import annotations``), where Python
    3.11's own ``__required_keys__`` takes ``NotRequired`` keys for required ones."""
    total = getattr(payload, "__total__", True)
    required = set()
    for key, hint in get_type_hints(payload, include_extras=True).items():
        origin = get_origin(hint)
        if origin is Required or (total and origin is not NotRequired):
            required.add(key)
    return frozenset(required)
