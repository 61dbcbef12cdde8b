"""Invoices (an immutable snapshot once issued), their lines, and payments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import (
    MONEY,
    RATE,
    Base,
    check_in,
    created_at_column,
    id_column,
    money_column,
    org_column,
    version_column,
)
from app.models.states import INVOICE_STATUSES, PAYMENT_METHODS


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        # Gapless numbering per organization and year: (year, seq) is unique and
        # the issuing service takes the next seq under a lock.
        UniqueConstraint("org_id", "year", "seq"),
        UniqueConstraint("org_id", "number"),
        CheckConstraint(check_in("status", INVOICE_STATUSES), name="status_known"),
        CheckConstraint("total = subtotal + tax", name="total_is_subtotal_plus_tax"),
        CheckConstraint("amount_paid >= 0 AND amount_paid <= total", name="paid_within_total"),
        CheckConstraint("(status = 'draft') = (number IS NULL AND issued_at IS NULL)", name="numbered_iff_issued"),
        CheckConstraint("due_at IS NULL OR issued_at IS NULL OR due_at >= issued_at", name="due_after_issue"),
        Index(None, "order_id", unique=True, postgresql_where=text("status <> 'void'")),
        Index(None, "customer_id", "issued_at", "id"),
        Index(None, "org_id", "issued_at", "id"),
        Index(None, "org_id", "due_at", "id"),
        Index(None, "org_id", "total", "id"),
        Index(None, "org_id", "status", "due_at"),
        # Makes a change of customer a key update (alembic 0009).
        UniqueConstraint("id", "customer_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    number: Mapped[str | None] = mapped_column(String(32))
    year: Mapped[int | None] = mapped_column(Integer)
    seq: Mapped[int | None] = mapped_column(Integer)
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id", ondelete="RESTRICT"), nullable=False)
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="draft")
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subtotal: Mapped[Decimal] = money_column()
    tax: Mapped[Decimal] = money_column()
    total: Mapped[Decimal] = money_column()
    amount_paid: Mapped[Decimal] = money_column()
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        UniqueConstraint("invoice_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("line_total = quantity * unit_price - discount", name="line_total_formula"),
        Index(None, "product_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    invoice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("products.id", ondelete="SET NULL"))
    # A snapshot of what was sold, so later product edits never change an issued invoice.
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    discount: Mapped[Decimal] = money_column()
    tax_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False)
    line_total: Mapped[Decimal] = mapped_column(MONEY, nullable=False)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(check_in("method", PAYMENT_METHODS), name="method_known"),
        Index(None, "org_id", "idempotency_key", unique=True, postgresql_where=text("idempotency_key IS NOT NULL")),
        Index(None, "invoice_id", "paid_at", "id"),
        Index(None, "org_id", "paid_at", "id"),
        Index(None, "org_id", "amount", "id"),
        Index(None, "org_id", "method"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    invoice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("invoices.id", ondelete="RESTRICT"), nullable=False)
    amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()
