"""change feed: every committed change is announced on ``bizgraph_changes``

Live queries re-run when the tables they read change in their organization,
whoever wrote them: bizgraph, an import, a ``psql`` session. So the tables
themselves announce their changes. Statement-level AFTER triggers (INSERT,
UPDATE and DELETE each with its transition table, TRUNCATE without one) send
``pg_notify('bizgraph_changes', '{"org":<id>,"tables":["<table>"]}')`` once per
distinct organization the statement touched. They cost one small query over the
statement's transition table, not a call per row, so a COPY of a million rows
still sends one notification per organization.

PostgreSQL delivers a notification only when its transaction commits (a
rollback announces nothing), and folds identical payloads sent within one
transaction: a transaction that inserts a thousand rows with a thousand
statements announces each (organization, table) once. A payload is at most an
id and a table name, far below NOTIFY's 8000-byte limit.

``TRUNCATE`` empties the table for every organization: ``"org":null``.

Which tables announce:
- every table of business rows keyed by ``org_id``, the audit log and the
  outbox included (the event streams read it);
- ``organizations``, keyed by its own ``id``: queries read an organization's
  time zone and thresholds, so its row is part of what they answer;
- not ``idempotency_keys`` and ``counters``: bookkeeping that no query reads,
  written only beside business rows that announce the same transaction anyway;
- not ``stored_operations`` (documents for every organization, never data: what
  a query answers does not depend on them) nor ``alembic_version``.

Triggers are invisible to alembic's autogenerate, so the models have no
counterpart.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHANNEL = "bizgraph_changes"

ORG_KEYED_TABLES = (
    "users",
    "oauth_clients",
    "departments",
    "employees",
    "employment_events",
    "customers",
    "products",
    "orders",
    "order_lines",
    "invoices",
    "invoice_lines",
    "payments",
    "audit_log",
    "outbox",
)

# Compact, with a fixed key order: identical changes must be identical texts for
# PostgreSQL to fold them. ``{org}`` is an SQL expression (a bigint, or NULL).
PAYLOAD = """'{{"org":' || coalesce({org}::text, 'null') || ',"tables":[' || to_json(TG_TABLE_NAME)::text || ']}}'"""

# The functions name only built-in functions and the statement's transition tables,
# which are found whatever the caller's search_path: no ``SET search_path``, which
# would cost more than the rest of the trigger (measured: ~0.07 ms a statement with
# it, ~0.025 ms without).
ANNOUNCE_BODY = """
CREATE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('{channel}', {payload})
        FROM (SELECT DISTINCT {key} AS org FROM new_rows) AS touched;
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM pg_notify('{channel}', {payload})
        FROM (SELECT {key} AS org FROM old_rows UNION SELECT {key} FROM new_rows) AS touched;
    ELSE
        PERFORM pg_notify('{channel}', {payload})
        FROM (SELECT DISTINCT {key} AS org FROM old_rows) AS touched;
    END IF;
    RETURN NULL;
END
$$
"""

# One function for the INSERT, UPDATE and DELETE triggers of every table keyed by
# ``org_id``: each branch names only the transition tables its event has (a branch
# is planned only when it runs, once per table). An UPDATE announces the
# organizations its rows left as well as those they joined.
ANNOUNCE = ANNOUNCE_BODY.format(
    name="bizgraph_announce_changes", channel=CHANNEL, key="org_id", payload=PAYLOAD.format(org="touched.org")
)

# The same for ``organizations``, whose rows are their own organization.
ANNOUNCE_ORGANIZATIONS = ANNOUNCE_BODY.format(
    name="bizgraph_announce_organization_changes", channel=CHANNEL, key="id", payload=PAYLOAD.format(org="touched.org")
)

ANNOUNCE_TRUNCATE = f"""
CREATE FUNCTION bizgraph_announce_truncate() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', {PAYLOAD.format(org="NULL")});
    RETURN NULL;
END
$$
"""

FUNCTIONS = (
    "bizgraph_announce_truncate()",
    "bizgraph_announce_organization_changes()",
    "bizgraph_announce_changes()",
)


def _create_triggers(table: str, function: str) -> None:
    # A trigger with transition tables may fire on one event only.
    op.execute(
        f"CREATE TRIGGER announce_inserts AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    )
    op.execute(
        f"CREATE TRIGGER announce_updates AFTER UPDATE ON {table}"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    )
    op.execute(
        f"CREATE TRIGGER announce_deletes AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    )
    op.execute(
        f"CREATE TRIGGER announce_truncates AFTER TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION bizgraph_announce_truncate()"
    )


def upgrade() -> None:
    op.execute(ANNOUNCE)
    op.execute(ANNOUNCE_ORGANIZATIONS)
    op.execute(ANNOUNCE_TRUNCATE)
    _create_triggers("organizations", "bizgraph_announce_organization_changes")
    for table in ORG_KEYED_TABLES:
        _create_triggers(table, "bizgraph_announce_changes")


def downgrade() -> None:
    for table in ("organizations", *ORG_KEYED_TABLES):
        for trigger in ("announce_truncates", "announce_deletes", "announce_updates", "announce_inserts"):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
