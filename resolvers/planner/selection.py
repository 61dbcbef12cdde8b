"""The selection tree the schema layer hands to the planner.

It is GraphQL-shaped but runtime-free: fragments are already expanded,
``@skip``/``@include`` applied, variables substituted and argument values
coerced. ``key`` is the response key (the alias, or the field name), which is
also the key of the field in the JSON the planner returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldSelection:
    key: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    selections: tuple[FieldSelection, ...] = ()
    # Where the request selected it (opaque here: the schema layer's AST nodes),
    # so an error about this field can point at it.
    origin: tuple[Any, ...] = field(default=(), compare=False, repr=False)
