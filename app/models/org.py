"""Organizations (the tenants) and the users who sign in to them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column, id_column, money_column, org_column
from app.models.states import USER_ROLES


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]*$'", name="slug_format"),
        CheckConstraint("order_approval_threshold >= 0", name="approval_threshold_not_negative"),
        CheckConstraint("brand_color ~ '^#[0-9a-f]{6}$'", name="brand_color_hex"),
    )

    id: Mapped[int] = id_column()
    slug: Mapped[str] = mapped_column(String(63), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Aggregates bucket days, weeks and months in this zone, not the server's.
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, server_default="UTC")
    # Placed orders with a total above this wait for an approval; below it, placing approves.
    order_approval_threshold: Mapped[Decimal] = money_column(default="10000")
    # What customers' emails and invoice documents show of the seller (app/notifications):
    # the sender's name and address (null: the organization's name, BIZGRAPH_MAIL_FROM),
    # the brand's colour and the text standing in for a logo (null: the name), and the
    # postal address and tax number an invoice must carry.
    email_sender_name: Mapped[str | None] = mapped_column(String(200))
    email_from: Mapped[str | None] = mapped_column(String(254))
    brand_color: Mapped[str] = mapped_column(String(7), nullable=False, server_default="#1f4e79")
    brand_logo_text: Mapped[str | None] = mapped_column(String(60))
    postal_address: Mapped[str | None] = mapped_column(Text)
    tax_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = created_at_column()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("org_id", "email"),
        CheckConstraint(
            "roles <@ ARRAY[" + ", ".join(f"'{r}'" for r in USER_ROLES) + "]::text[]",
            name="roles_known",
        ),
        Index(None, "employee_id"),
        Index(None, "customer_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    employee_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("employees.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("customers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    # Set by `bizgraph disable-user`: no sign-in, and its tokens are refused (alembic 0006).
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OAuthClient(Base):
    """A service client of the token endpoint (OAuth2 client credentials).

    ``scopes`` are the roles the client may ask for; a token carries the ones it
    asked for. The secret is stored only as a memory-hard hash.
    """

    __tablename__ = "oauth_clients"
    __table_args__ = (
        CheckConstraint(
            "scopes <@ ARRAY['admin', 'finance', 'hr', 'analyst']::text[]",
            name="scopes_known",
        ),
        Index(None, "org_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    client_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    created_at: Mapped[datetime] = created_at_column()
