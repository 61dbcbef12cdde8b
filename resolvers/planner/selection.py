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
    selections: tuple["FieldSelection", ...] = ()

    def child(self, name: str) -> "FieldSelection | None":
        """The first selected sub-field called ``name`` (any alias)."""
        for selection in self.selections:
            if selection.name == name:
                return selection
        return None

    def children(self, name: str) -> list["FieldSelection"]:
        return [s for s in self.selections if s.name == name]
