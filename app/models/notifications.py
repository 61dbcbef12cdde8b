"""Customer and staff emails: how far each organization's outbox was read, one
delivery per (event, recipient, kind), and every attempt to send it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
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
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, check_in, created_at_column, id_column, org_column
from app.models.states import EMAIL_ATTEMPT_OUTCOMES, EMAIL_DELIVERY_STATUSES, EMAIL_KINDS


class EmailCursor(Base):
    """The outbox position up to which an organization's events were turned into
    deliveries. Its row is the expansion lock: one worker at a time per organization."""

    __tablename__ = "email_cursors"

    org_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    updated_at: Mapped[datetime] = created_at_column()


class EmailDelivery(Base):
    __tablename__ = "email_deliveries"
    __table_args__ = (
        # An event is mailed to a recipient once per kind, however many workers expand it.
        UniqueConstraint("event_id", "recipient", "kind"),
        CheckConstraint(check_in("kind", EMAIL_KINDS), name="kind_known"),
        CheckConstraint(check_in("status", EMAIL_DELIVERY_STATUSES), name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # What the dispatcher claims: pending work that is due, oldest first.
        Index(None, "org_id", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index(None, "org_id", "created_at", "id"),
        Index(None, "org_id", "status"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    # Why a delivery was skipped (the customer opted out) or failed for good.
    reason: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class EmailAttempt(Base):
    __tablename__ = "email_attempts"
    __table_args__ = (
        UniqueConstraint("delivery_id", "attempt_no"),
        CheckConstraint(check_in("outcome", EMAIL_ATTEMPT_OUTCOMES), name="outcome_known"),
        CheckConstraint("latency_ms >= 0", name="latency_not_negative"),
        Index(None, "org_id", "attempted_at", "id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("email_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    attempt_no: Mapped[int] = mapped_column(Integer, nullable=False)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    # The SMTP reply code and text (or the connection error), as the server gave them.
    smtp_code: Mapped[int | None] = mapped_column(Integer)
    smtp_response: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[int] = mapped_column(Integer, nullable=False)
