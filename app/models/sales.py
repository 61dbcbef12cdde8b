"""Customers, products, orders and their lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
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
from app.models.states import CUSTOMER_EMAIL_KINDS, CUSTOMER_KINDS, CUSTOMER_SEGMENTS, CUSTOMER_STATUSES, ORDER_STATUSES


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        CheckConstraint(check_in("status", CUSTOMER_STATUSES), name="status_known"),
        CheckConstraint(check_in("kind", CUSTOMER_KINDS), name="kind_known"),
        CheckConstraint(check_in("segment", CUSTOMER_SEGMENTS), name="segment_known"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_iso"),
        CheckConstraint("credit_limit >= 0", name="credit_limit_not_negative"),
        CheckConstraint("payment_terms_days BETWEEN 0 AND 365", name="payment_terms_in_range"),
        CheckConstraint(
            "email_opt_outs <@ ARRAY[" + ", ".join(f"'{k}'" for k in CUSTOMER_EMAIL_KINDS) + "]::text[]",
            name="email_opt_outs_known",
        ),
        Index(None, "org_id", "name", "id"),
        Index(None, "org_id", "created_at", "id"),
        Index(None, "org_id", "credit_limit", "id"),
        Index(None, "org_id", "status"),
        Index(None, "org_id", "segment"),
        Index(None, "org_id", "country"),
        Index(None, "account_manager_id"),
        # Makes a change of account manager a key update, which waits for the change feed's
        # FOR KEY SHARE lookups (alembic 0009).
        UniqueConstraint("id", "account_manager_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    segment: Mapped[str] = mapped_column(String(16), nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    billing_street: Mapped[str | None] = mapped_column(String(200))
    billing_city: Mapped[str | None] = mapped_column(String(100))
    billing_postal_code: Mapped[str | None] = mapped_column(String(20))
    tax_id: Mapped[str | None] = mapped_column(String(32))
    credit_limit: Mapped[Decimal] = money_column()
    # Days between an invoice's issue and its due date.
    payment_terms_days: Mapped[int] = mapped_column(Integer, nullable=False, server_default="30")
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="lead")
    account_manager_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("employees.id", ondelete="SET NULL"))
    # The kinds of email (app/models/states.py, CUSTOMER_EMAIL_KINDS) the customer asked not to get.
    email_opt_outs: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("org_id", "sku"),
        CheckConstraint("unit_price >= 0", name="price_not_negative"),
        CheckConstraint("tax_rate >= 0 AND tax_rate < 1", name="tax_rate_fraction"),
        CheckConstraint("stock_on_hand >= 0", name="stock_not_negative"),
        CheckConstraint("stock_reserved >= 0 AND stock_reserved <= stock_on_hand", name="reserved_within_stock"),
        Index(None, "org_id", "name", "id"),
        Index(None, "org_id", "unit_price", "id"),
        Index(None, "org_id", "stock_on_hand", "id"),
        Index(None, "org_id", "active"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    unit_price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    tax_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False, server_default="0")
    stock_on_hand: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # Stock promised to placed orders but not yet shipped.
    stock_reserved: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        CheckConstraint(check_in("status", ORDER_STATUSES), name="status_known"),
        CheckConstraint("subtotal >= 0 AND tax >= 0", name="amounts_not_negative"),
        CheckConstraint("total = subtotal + tax", name="total_is_subtotal_plus_tax"),
        # A draft was never placed; a cancelled order may have been (or not).
        CheckConstraint(
            "CASE status WHEN 'draft' THEN placed_at IS NULL WHEN 'cancelled' THEN TRUE ELSE placed_at IS NOT NULL END",
            name="placed_at_matches_status",
        ),
        Index(None, "org_id", "placed_at", "id"),
        Index(None, "org_id", "created_at", "id"),
        Index(None, "org_id", "total", "id"),
        Index(None, "org_id", "status", "placed_at"),
        Index(None, "customer_id", "placed_at", "id"),
        # A rep's pipeline: their customers' orders in one status, newest first (alembic 0012).
        Index(None, "customer_id", "status", "created_at", "id"),
        Index(None, "sales_rep_id"),
        # Makes a change of customer a key update (alembic 0009).
        UniqueConstraint("id", "customer_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False
    )
    sales_rep_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("employees.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="draft")
    placed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subtotal: Mapped[Decimal] = money_column()
    tax: Mapped[Decimal] = money_column()
    total: Mapped[Decimal] = money_column()
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="price_not_negative"),
        CheckConstraint("discount >= 0 AND discount <= quantity * unit_price", name="discount_within_gross"),
        CheckConstraint("line_total = quantity * unit_price - discount", name="line_total_formula"),
        Index(None, "product_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("products.id", ondelete="RESTRICT"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    discount: Mapped[Decimal] = money_column()
    tax_rate: Mapped[Decimal] = mapped_column(RATE, nullable=False, server_default="0")
    line_total: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
