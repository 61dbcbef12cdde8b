"""Money and rates as documents and emails print them; exact, from ``Decimal``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def amount(value: Decimal) -> str:
    """``1234.5`` → ``1,234.50``: two decimals, thousands grouped, never through float."""
    return f"{value.quantize(CENT, ROUND_HALF_UP):,}"


def money(value: Decimal, currency: str) -> str:
    """``1,234.50 EUR``."""
    return f"{amount(value)} {currency}"


def percent(rate: Decimal) -> str:
    """A rate as a fraction (``0.2000``) → ``20 %`` (``0.0550`` → ``5.5 %``)."""
    scaled = (rate * 100).normalize()
    text = f"{scaled:f}"
    return f"{text} %"
