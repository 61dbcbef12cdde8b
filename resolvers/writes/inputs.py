"""What every command input shares: telling "leave as is" from "set to null".

A command's input is a frozen dataclass in domain terms (snake_case names,
``Decimal`` money, ``int`` keys, stored enum values). An update's optional
fields default to ``UNCHANGED``; ``None`` means "clear it".
"""

from __future__ import annotations

import enum
from typing import TypeAlias, TypeVar

from typing_extensions import TypeIs

T = TypeVar("T")


class Unchanged(enum.Enum):
    """The one value of a field the caller did not give."""

    UNCHANGED = "UNCHANGED"


UNCHANGED = Unchanged.UNCHANGED

# A field that may be left out: its type, or UNCHANGED.
Maybe: TypeAlias = T | Unchanged


def given(value: T | Unchanged) -> TypeIs[T]:
    """Whether the caller gave this field (mypy then knows it is not UNCHANGED)."""
    return value is not UNCHANGED
