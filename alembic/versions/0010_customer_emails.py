"""customer emails: brand and sender per organization, opt-outs per customer, deliveries and attempts

- ``organizations`` gains what a customer's email and invoice document show of the
  seller: the sender's name and address, a brand colour, the text that stands in
  for a logo, a postal address and a tax number.
- ``customers.email_opt_outs`` lists the kinds of email a customer asked not to get.
- ``email_cursors`` holds, per organization, the outbox position up to which events
  were turned into deliveries; a worker locks the row (``FOR UPDATE SKIP LOCKED``)
  while it expands, so two workers never expand the same events at once. Existing
  organizations start after their history (nobody wants it mailed now).
- ``email_deliveries`` is one email per (event, recipient, kind), unique, with its
  state and when it is next due; ``email_attempts`` logs each try (time, outcome,
  the SMTP reply, latency).

The new tables are organization-owned: row-level security as in 0003, and the
change feed of 0008 announces their changes (GraphQL lists them, live queries too).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

APP_ROLE = "bizgraph_app"
NEW_TABLES = ("email_cursors", "email_deliveries", "email_attempts")
CUSTOMER_EMAIL_KINDS = ("order_confirmation", "invoice_issued", "payment_receipt", "overdue_reminder")
EMAIL_KINDS = (*CUSTOMER_EMAIL_KINDS, "employee_hired", "employee_leave")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    op.add_column("organizations", sa.Column("email_sender_name", sa.String(length=200), nullable=True))
    op.add_column("organizations", sa.Column("email_from", sa.String(length=254), nullable=True))
    op.add_column(
        "organizations", sa.Column("brand_color", sa.String(length=7), server_default="#1f4e79", nullable=False)
    )
    op.add_column("organizations", sa.Column("brand_logo_text", sa.String(length=60), nullable=True))
    op.add_column("organizations", sa.Column("postal_address", sa.Text(), nullable=True))
    op.add_column("organizations", sa.Column("tax_id", sa.String(length=32), nullable=True))
    op.create_check_constraint(
        op.f("ck_organizations_brand_color_hex"), "organizations", "brand_color ~ '^#[0-9a-f]{6}$'"
    )
    op.add_column("customers", sa.Column("email_opt_outs", sa.ARRAY(sa.Text()), server_default="{}", nullable=False))
    op.create_check_constraint(
        op.f("ck_customers_email_opt_outs_known"),
        "customers",
        "email_opt_outs <@ ARRAY[" + ", ".join(f"'{k}'" for k in CUSTOMER_EMAIL_KINDS) + "]::text[]",
    )

    op.create_table(
        "email_cursors",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_email_cursors_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_email_cursors")),
    )
    op.create_table(
        "email_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_email_deliveries_attempts_not_negative")),
        sa.CheckConstraint(_in("kind", EMAIL_KINDS), name=op.f("ck_email_deliveries_kind_known")),
        sa.CheckConstraint(
            _in("status", ("pending", "sent", "failed", "skipped")), name=op.f("ck_email_deliveries_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox.id"], name=op.f("fk_email_deliveries_event_id_outbox"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_email_deliveries_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_deliveries")),
        sa.UniqueConstraint("event_id", "recipient", "kind", name=op.f("uq_email_deliveries_event_id_recipient_kind")),
    )
    op.create_index(
        op.f("ix_email_deliveries_org_id_next_attempt_at"),
        "email_deliveries",
        ["org_id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        op.f("ix_email_deliveries_org_id_created_at_id"), "email_deliveries", ["org_id", "created_at", "id"]
    )
    op.create_index(op.f("ix_email_deliveries_org_id_status"), "email_deliveries", ["org_id", "status"])
    op.create_table(
        "email_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("smtp_code", sa.Integer(), nullable=True),
        sa.Column("smtp_response", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.CheckConstraint("latency_ms >= 0", name=op.f("ck_email_attempts_latency_not_negative")),
        sa.CheckConstraint(_in("outcome", ("sent", "refused", "error")), name=op.f("ck_email_attempts_outcome_known")),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["email_deliveries.id"],
            name=op.f("fk_email_attempts_delivery_id_email_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_email_attempts_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_attempts")),
        sa.UniqueConstraint("delivery_id", "attempt_no", name=op.f("uq_email_attempts_delivery_id_attempt_no")),
    )
    op.create_index(
        op.f("ix_email_attempts_org_id_attempted_at_id"), "email_attempts", ["org_id", "attempted_at", "id"]
    )

    for table in NEW_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table}"
            " USING (org_id = bizgraph_current_org()) WITH CHECK (org_id = bizgraph_current_org())"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    # Organizations that exist already have a history nobody wants mailed now: their
    # cursors start after it. An organization without a cursor is new, and starts at 0.
    op.execute(
        "INSERT INTO email_cursors (org_id, position)"
        " SELECT o.id, coalesce((SELECT max(e.position) FROM outbox e WHERE e.org_id = o.id), 0) FROM organizations o"
    )
    # The change feed (0008): GraphQL reads deliveries and attempts, so live queries of them re-run.
    for table in ("email_deliveries", "email_attempts"):
        op.execute(
            f"CREATE TRIGGER announce_inserts AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows"
            " FOR EACH STATEMENT EXECUTE FUNCTION bizgraph_announce_changes()"
        )
        op.execute(
            f"CREATE TRIGGER announce_updates AFTER UPDATE ON {table}"
            " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
            " FOR EACH STATEMENT EXECUTE FUNCTION bizgraph_announce_changes()"
        )
        op.execute(
            f"CREATE TRIGGER announce_deletes AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows"
            " FOR EACH STATEMENT EXECUTE FUNCTION bizgraph_announce_changes()"
        )
        op.execute(
            f"CREATE TRIGGER announce_truncates AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION bizgraph_announce_truncate()"
        )


def downgrade() -> None:
    op.drop_table("email_attempts")
    op.drop_table("email_deliveries")
    op.drop_table("email_cursors")
    op.drop_constraint(op.f("ck_customers_email_opt_outs_known"), "customers", type_="check")
    op.drop_column("customers", "email_opt_outs")
    op.drop_constraint(op.f("ck_organizations_brand_color_hex"), "organizations", type_="check")
    for column in ("tax_id", "postal_address", "brand_logo_text", "brand_color", "email_from", "email_sender_name"):
        op.drop_column("organizations", column)
