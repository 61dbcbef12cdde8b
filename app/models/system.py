"""The audit trail, the transactional outbox, idempotency keys, per-organization counters and
stored operations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, check_in, id_column, org_column

# The kinds of operation a stored document may define (one each).
OPERATION_TYPES = ("query", "mutation", "subscription")


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index(None, "org_id", "at", "id"),
        Index(None, "org_id", "entity_type", "entity_id", "at"),
        Index(None, "actor_user_id"),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    request_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class OutboxEvent(Base):
    """Integration events, written in the transaction of the change that caused them.

    Ids are taken when a row is inserted, not when its transaction commits, so a
    consumer paging by id alone could step over an event that commits late.
    ``position`` is handed out as the transaction commits, in commit order per
    organization (a deferred trigger, alembic 0004): consumers page by it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "org_id", "id"),
        Index(None, "org_id", "position", unique=True),
    )

    id: Mapped[int] = id_column()
    org_id: Mapped[int] = org_column()
    position: Mapped[int | None] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class IdempotencyKey(Base):
    """A request that may not act twice: the first one's input fingerprint and result."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (PrimaryKeyConstraint("org_id", "key"),)

    org_id: Mapped[int] = org_column()
    key: Mapped[str] = mapped_column(String(100), nullable=False)
    operation: Mapped[str] = mapped_column(String(64), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    entity_type: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Counter(Base):
    """Per-organization number sequences (invoice numbers per year must have no gaps)."""

    __tablename__ = "counters"
    __table_args__ = (PrimaryKeyConstraint("org_id", "name"),)

    org_id: Mapped[int] = org_column()
    name: Mapped[str] = mapped_column(String(32), nullable=False)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)


class StoredOperation(Base):
    """A GraphQL document pushed from a client's persisted-query manifest, keyed by the
    SHA-256 of its text (``bizgraph operations push``).

    Not owned by an organization: a manifest describes a client build that every
    organization runs, and a document holds a selection, never data; what it returns is
    scoped by the principal's organization and roles when it runs. The server's role may
    only read it (alembic 0007); the CLI writes it as the database owner."""

    __tablename__ = "stored_operations"
    __table_args__ = (
        CheckConstraint("sha256 = encode(sha256(convert_to(document, 'UTF8')), 'hex')", name="key_is_document_hash"),
        CheckConstraint(check_in("operation_type", OPERATION_TYPES), name="operation_type"),
    )

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text, nullable=False)
    operation_name: Mapped[str | None] = mapped_column(Text)
    operation_type: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
