"""The inputs of the product commands, in domain terms."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from resolvers.writes.inputs import UNCHANGED, Maybe


@dataclass(frozen=True)
class CreateProduct:
    """A new product. ``tax_rate`` and ``active`` take the table's defaults (0,
    true) when not given; given as None they are refused, as for an update."""

    sku: str
    name: str
    unit_price: Decimal
    description: str | None = None
    tax_rate: Maybe[Decimal | None] = UNCHANGED
    stock_on_hand: int | None = None  # None: 0
    active: Maybe[bool | None] = UNCHANGED


@dataclass(frozen=True)
class UpdateProduct:
    """Changes to the product ``id`` read at ``version``; fields not given stay as they are.
    Only ``description`` may be cleared (None); the others refuse None."""

    id: int
    version: int
    name: Maybe[str | None] = UNCHANGED
    description: Maybe[str | None] = UNCHANGED
    unit_price: Maybe[Decimal | None] = UNCHANGED
    tax_rate: Maybe[Decimal | None] = UNCHANGED
    active: Maybe[bool | None] = UNCHANGED


@dataclass(frozen=True)
class AdjustStock:
    """``delta`` units onto the stock on hand (negative: off it), and why."""

    id: int
    delta: int
    reason: str
    version: int | None = None
