"""The inputs of the order commands, in domain terms."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from resolvers.writes.inputs import UNCHANGED, Maybe


@dataclass(frozen=True)
class OrderLine:
    """A quantity of a product, priced from the catalog when written.
    ``discount`` is an amount off the line; None: no discount."""

    product_id: int
    quantity: int
    discount: Decimal | None = None


@dataclass(frozen=True)
class CreateOrder:
    """A draft for a customer. ``sales_rep_id`` not given: a sales rep's draft is
    the rep's own, anyone else's has no rep; None: no rep."""

    customer_id: int
    sales_rep_id: Maybe[int | None] = UNCHANGED
    note: str | None = None
    lines: tuple[OrderLine, ...] = ()


@dataclass(frozen=True)
class AddOrderLine:
    """A new line on the draft ``order_id``; ``version``, when given, is the one the caller read."""

    order_id: int
    product_id: int
    quantity: int
    discount: Decimal | None = None
    version: int | None = None


@dataclass(frozen=True)
class UpdateOrderLine:
    """A new quantity and/or discount for a draft's line; what is not given stays.
    A discount of None means none; a quantity of None is refused."""

    line_id: int
    quantity: Maybe[int | None] = UNCHANGED
    discount: Maybe[Decimal | None] = UNCHANGED
    version: int | None = None


@dataclass(frozen=True)
class RemoveOrderLine:
    line_id: int
    version: int | None = None


@dataclass(frozen=True)
class PlaceOrder:
    """Place the draft ``id``. ``idempotency_key`` makes a retry return the
    order the first request placed instead of placing it again."""

    id: int
    version: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ApproveOrder:
    id: int
    version: int | None = None


@dataclass(frozen=True)
class FulfilOrder:
    id: int
    version: int | None = None


@dataclass(frozen=True)
class CancelOrder:
    """Cancel the order ``id``; ``reason`` goes to the audit log."""

    id: int
    version: int | None = None
    reason: str | None = None
