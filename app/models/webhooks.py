"""Webhook endpoints, their deliveries and the attempts of each, and how far each
organization's outbox has been turned into deliveries (app/delivery)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
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
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, check_in, created_at_column, id_column, org_column, version_column

DELIVERY_STATUSES = ("pending", "delivering", "delivered", "failed")
# Why an endpoint stopped receiving: an admin said so, the receiver answered 410 Gone,
# or it failed for a whole retry window.
DISABLED_REASONS = ("manual", "gone", "failing")


class WebhookEndpoint(Base):
    """Where an organization wants its events POSTed. The signing secret is stored
    encrypted (app/delivery/secrets.py); while a rotation's overlap lasts the previous
    one signs too."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index(None, "org_id", "id"),
        CheckConstraint("timeout_seconds BETWEEN 1 AND 60", name="timeout_seconds"),
        CheckConstraint("max_concurrency BETWEEN 1 AND 100", name="max_concurrency"),
        CheckConstraint(check_in("disabled_reason", DISABLED_REASONS), name="disabled_reason"),
        CheckConstraint("enabled = (disabled_reason IS NULL)", name="enabled_has_no_reason"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    url: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    secret_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    previous_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    timeout_seconds: Mapped[int] = mapped_column(Integer, nullable=False, server_default="10")
    max_concurrency: Mapped[int] = mapped_column(Integer, nullable=False, server_default="4")
    # The outbox position when it was created: it receives the events committed after it
    # (older ones only when an admin replays them).
    start_after_position: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    # The first failed attempt since the last success (None while it succeeds).
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = version_column()
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class WebhookDelivery(Base):
    """One event for one endpoint: delivered at least once, in order per entity."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        CheckConstraint(check_in("status", DELIVERY_STATUSES), name="status"),
        CheckConstraint("status <> 'delivering' OR lease_until IS NOT NULL", name="delivering_has_lease"),
        Index(None, "org_id", "id"),
        Index(None, "event_id"),
        # What the worker claims, and what an entity's later events wait for.
        Index(
            "ix_webhook_deliveries_open",
            "endpoint_id",
            "entity_type",
            "entity_id",
            "position",
            postgresql_where=text("status IN ('pending', 'delivering')"),
        ),
        Index(
            "ix_webhook_deliveries_due",
            "org_id",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'delivering')"),
        ),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    endpoint_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False)
    # The event's commit position and entity, copied: claims order and wait by them.
    position: Mapped[int] = mapped_column(BigInteger, nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime] = created_at_column()
    # A claim: until when the claiming worker owns it, and the claim's token.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claim: Mapped[str | None] = mapped_column(String(64))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()


class WebhookAttempt(Base):
    """One POST of a delivery: when, how it ended, how long it took, what came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index(None, "org_id", "id"),
        Index(None, "delivery_id", "id"),
        Index(None, "endpoint_id", "id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    endpoint_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    response_body: Mapped[str | None] = mapped_column(Text)


class WebhookProgress(Base):
    """The outbox position up to which an organization's events have deliveries."""

    __tablename__ = "webhook_progress"

    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    updated_at: Mapped[datetime] = created_at_column()
