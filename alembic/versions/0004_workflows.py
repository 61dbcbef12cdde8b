"""workflows: idempotency keys, counters, outbox ordering and NOTIFY, payment terms, approval threshold

- ``idempotency_keys`` remembers the first result of a non-repeatable command.
- ``counters`` holds per-organization number sequences; a counter row is locked
  by its increment until the transaction ends, so invoice numbers per year are
  gapless under concurrent issuing (a rolled-back issue gives its number back).
- ``outbox.position`` orders events by commit, per organization. An id is taken
  when a row is inserted, so ids alone let an event that commits late slip in
  behind a consumer that already read past it. A deferred trigger, run as the
  transaction commits, takes the organization's outbox lock (held only through
  the commit itself), gives each new event the next position and announces it
  with ``NOTIFY bizgraph_events``: PostgreSQL delivers a NOTIFY only if the
  transaction commits, and a consumer paging by position never misses one.
- ``orders.placed_at`` may stay empty on a cancelled order: a draft can be
  cancelled without ever being placed.
- ``order_numbers``, ``customer_numbers`` and ``employee_numbers`` hand out
  the numbers of new orders, customers and employees: unique and increasing,
  gaps allowed, and no lock held (a counter row would queue every creation of
  an organization behind the one before until it commits). They start after
  the highest number in use.
- ``customers.payment_terms_days`` and ``organizations.order_approval_threshold``
  parameterise invoicing and order approval.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APP_ROLE = "bizgraph_app"
NEW_TABLES = ("idempotency_keys", "counters")
CHANNEL = "bizgraph_events"

# The advisory lock's first key: "outbox" as an int4; the second is the organization.
OUTBOX_LOCK = 0x6F757462

SEQUENCE_FUNCTION = f"""
CREATE FUNCTION bizgraph_outbox_commit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    assigned bigint;
BEGIN
    IF NEW.position IS NOT NULL THEN
        RETURN NULL;  -- placed by a bulk load that owns the whole table (the seed)
    END IF;
    -- Deferred: runs as the transaction commits. The lock is released only once
    -- the commit is visible, so positions of one organization follow commit order.
    PERFORM pg_advisory_xact_lock({OUTBOX_LOCK}, NEW.org_id::int);
    UPDATE outbox SET position = nextval('outbox_position_seq') WHERE id = NEW.id RETURNING position INTO assigned;
    -- Small on purpose (NOTIFY payloads stop at 8000 bytes): listeners read
    -- the event itself from the outbox.
    PERFORM pg_notify('{CHANNEL}', json_build_object(
        'id', NEW.id, 'position', assigned, 'org_id', NEW.org_id, 'type', NEW.event_type,
        'entity_type', NEW.entity_type, 'entity_id', NEW.entity_id)::text);
    RETURN NULL;
END
$$
"""


# Sequence → the table and the prefix of the numbers it continues.
NUMBER_SEQUENCES = {"order_numbers": "orders", "customer_numbers": "customers", "employee_numbers": "employees"}


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("order_approval_threshold", sa.Numeric(14, 2), server_default="10000", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_organizations_approval_threshold_not_negative"), "organizations", "order_approval_threshold >= 0"
    )
    op.drop_constraint(op.f("ck_orders_placed_iff_not_draft"), "orders", type_="check")
    op.create_check_constraint(
        op.f("ck_orders_placed_at_matches_status"),
        "orders",
        "CASE status WHEN 'draft' THEN placed_at IS NULL WHEN 'cancelled' THEN TRUE ELSE placed_at IS NOT NULL END",
    )
    op.add_column("customers", sa.Column("payment_terms_days", sa.Integer(), server_default="30", nullable=False))
    op.create_check_constraint(
        op.f("ck_customers_payment_terms_in_range"), "customers", "payment_terms_days BETWEEN 0 AND 365"
    )
    op.execute("CREATE SEQUENCE outbox_position_seq AS bigint")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE outbox_position_seq TO {APP_ROLE}")
    op.add_column("outbox", sa.Column("position", sa.BigInteger(), nullable=True))
    op.create_index(op.f("ix_outbox_org_id_position"), "outbox", ["org_id", "position"], unique=True)
    op.create_table(
        "idempotency_keys",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=True),
        sa.Column("entity_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_idempotency_keys_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "counters",
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_counters_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "name", name=op.f("pk_counters")),
    )
    for table in NEW_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table}"
            " USING (org_id = bizgraph_current_org()) WITH CHECK (org_id = bizgraph_current_org())"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    for sequence, table in NUMBER_SEQUENCES.items():
        op.execute(f"CREATE SEQUENCE {sequence} AS bigint")
        op.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {APP_ROLE}")
        op.execute(
            f"SELECT setval('{sequence}', COALESCE((SELECT max(substring(number from '[0-9]+$')::bigint)"
            f" FROM {table}), 0) + 1, false)"
        )
    op.execute(SEQUENCE_FUNCTION)
    op.execute(
        "CREATE CONSTRAINT TRIGGER outbox_commit AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW EXECUTE FUNCTION bizgraph_outbox_commit()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_commit ON outbox")
    op.execute("DROP FUNCTION bizgraph_outbox_commit()")
    for sequence in NUMBER_SEQUENCES:
        op.execute(f"DROP SEQUENCE {sequence}")
    for table in reversed(NEW_TABLES):
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
    op.drop_table("counters")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_outbox_org_id_position"), table_name="outbox")
    op.drop_column("outbox", "position")
    op.execute("DROP SEQUENCE outbox_position_seq")
    op.drop_constraint(op.f("ck_customers_payment_terms_in_range"), "customers", type_="check")
    op.drop_column("customers", "payment_terms_days")
    op.drop_constraint(op.f("ck_orders_placed_at_matches_status"), "orders", type_="check")
    # The old rule wants a time on every order past draft: a cancelled draft gets its cancellation's.
    op.execute("UPDATE orders SET placed_at = cancelled_at WHERE status = 'cancelled' AND placed_at IS NULL")
    op.create_check_constraint(
        op.f("ck_orders_placed_iff_not_draft"), "orders", "(status = 'draft') = (placed_at IS NULL)"
    )
    op.drop_constraint(op.f("ck_organizations_approval_threshold_not_negative"), "organizations", type_="check")
    op.drop_column("organizations", "order_approval_threshold")
