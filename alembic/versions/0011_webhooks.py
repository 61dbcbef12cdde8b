"""webhooks: endpoints, deliveries, attempts, and how far each outbox is fanned out

Every table is owned by an organization and isolated like the others (alembic
0003): row-level security shows a transaction only the rows of
``bizgraph.org_id``, for the server and the worker alike (the worker names each
organization in turn). Endpoints, deliveries and attempts announce their changes
on the change feed (alembic 0008), so live queries over them stay current; the
progress table is bookkeeping no query reads.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APP_ROLE = "bizgraph_app"
TABLES = ("webhook_endpoints", "webhook_deliveries", "webhook_attempts", "webhook_progress")
ANNOUNCING = ("webhook_endpoints", "webhook_deliveries", "webhook_attempts")
OPEN = sa.text("status IN ('pending', 'delivering')")


def _org() -> sa.Column:
    return sa.Column(
        "org_id",
        sa.BigInteger(),
        sa.ForeignKey("organizations.id", name=None, ondelete="CASCADE"),
        nullable=False,
    )


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        _org(),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("event_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("disabled_reason", sa.String(16), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("previous_secret_sealed", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timeout_seconds", sa.Integer(), server_default="10", nullable=False),
        sa.Column("max_concurrency", sa.Integer(), server_default="4", nullable=False),
        sa.Column("start_after_position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint("timeout_seconds BETWEEN 1 AND 60", name=op.f("ck_webhook_endpoints_timeout_seconds")),
        sa.CheckConstraint("max_concurrency BETWEEN 1 AND 100", name=op.f("ck_webhook_endpoints_max_concurrency")),
        sa.CheckConstraint(
            "disabled_reason IN ('manual', 'gone', 'failing')", name=op.f("ck_webhook_endpoints_disabled_reason")
        ),
        sa.CheckConstraint(
            "enabled = (disabled_reason IS NULL)", name=op.f("ck_webhook_endpoints_enabled_has_no_reason")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(op.f("ix_webhook_endpoints_org_id_id"), "webhook_endpoints", ["org_id", "id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        _org(),
        sa.Column(
            "endpoint_id",
            sa.BigInteger(),
            sa.ForeignKey("webhook_endpoints.id", name=None, ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "event_id", sa.BigInteger(), sa.ForeignKey("outbox.id", name=None, ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("entity_type", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _now("next_attempt_at"),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(64), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'delivering', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_status")
        ),
        sa.CheckConstraint(
            "status <> 'delivering' OR lease_until IS NOT NULL", name=op.f("ck_webhook_deliveries_delivering_has_lease")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("endpoint_id", "event_id", name=op.f("uq_webhook_deliveries_endpoint_id_event_id")),
    )
    op.create_index(op.f("ix_webhook_deliveries_org_id_id"), "webhook_deliveries", ["org_id", "id"])
    op.create_index(op.f("ix_webhook_deliveries_event_id"), "webhook_deliveries", ["event_id"])
    op.create_index(
        "ix_webhook_deliveries_open",
        "webhook_deliveries",
        ["endpoint_id", "entity_type", "entity_id", "position"],
        postgresql_where=OPEN,
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["org_id", "next_attempt_at"], postgresql_where=OPEN
    )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        _org(),
        sa.Column(
            "delivery_id",
            sa.BigInteger(),
            sa.ForeignKey("webhook_deliveries.id", name=None, ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "endpoint_id",
            sa.BigInteger(),
            sa.ForeignKey("webhook_endpoints.id", name=None, ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(op.f("ix_webhook_attempts_org_id_id"), "webhook_attempts", ["org_id", "id"])
    op.create_index(op.f("ix_webhook_attempts_delivery_id_id"), "webhook_attempts", ["delivery_id", "id"])
    op.create_index(op.f("ix_webhook_attempts_endpoint_id_id"), "webhook_attempts", ["endpoint_id", "id"])

    op.create_table(
        "webhook_progress",
        sa.Column(
            "org_id", sa.BigInteger(), sa.ForeignKey("organizations.id", name=None, ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_webhook_progress")),
    )

    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table}"
            " USING (org_id = bizgraph_current_org()) WITH CHECK (org_id = bizgraph_current_org())"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")

    for table in ANNOUNCING:
        for event, transition in (
            ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
            ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
        ):
            op.execute(
                f"CREATE TRIGGER announce_{event.lower()}s AFTER {event} ON {table} {transition}"
                " FOR EACH STATEMENT EXECUTE FUNCTION bizgraph_announce_changes()"
            )
        op.execute(
            f"CREATE TRIGGER announce_truncates AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION bizgraph_announce_truncate()"
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
