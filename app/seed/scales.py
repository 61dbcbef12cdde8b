"""How much data each ``--scale`` makes, and how it is shared between the two organizations."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import BadUserInput


@dataclass(frozen=True)
class Scale:
    """Totals across both organizations (order lines average three per order)."""

    name: str
    customers: int
    orders: int
    employees: int
    products: int

    def share(self, fraction: float) -> Scale:
        """This scale's counts for an organization that gets ``fraction`` of the data."""
        return Scale(
            self.name,
            customers=round(self.customers * fraction),
            orders=round(self.orders * fraction),
            employees=round(self.employees * fraction),
            products=round(self.products * fraction),
        )


SCALES = {
    scale.name: scale
    for scale in (
        Scale("tiny", customers=120, orders=1_000, employees=60, products=40),
        Scale("small", customers=1_000, orders=10_000, employees=250, products=200),
        Scale("medium", customers=10_000, orders=100_000, employees=1_000, products=800),
        Scale("large", customers=100_000, orders=1_000_000, employees=5_000, products=2_000),
    )
}


def scale_named(name: str) -> Scale:
    try:
        return SCALES[name]
    except KeyError:
        raise BadUserInput(f"unknown scale {name!r}: choose one of {', '.join(SCALES)}", field=["scale"]) from None
