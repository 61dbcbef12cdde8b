"""Declarative base, naming convention and the column types every domain shares."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, MetaData, Numeric, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names keep alembic autogenerate and downgrades deterministic.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(14, 2)
"""Money is NUMERIC(14,2) everywhere; the currency is the organization's."""

RATE = Numeric(6, 4)
"""Tax rates as fractions (0.2000 = 20 %)."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def id_column() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(always=False), primary_key=True)


def org_column() -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def version_column() -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, server_default="1")


def money_column(*, nullable: bool = False, default: str | None = "0") -> Mapped[Decimal]:
    return mapped_column(MONEY, nullable=nullable, server_default=default)


def check_in(column: str, values: tuple[str, ...]) -> str:
    """A CHECK expression restricting a text column to declared values."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"
