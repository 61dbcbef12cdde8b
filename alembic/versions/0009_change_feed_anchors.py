"""change feed: changes to the sales ledger say whose accounts they touched

Alembic 0008 announces every committed change with its organization and table,
so a change of one order re-ran every live query of the organization that reads
orders: each customer's "my orders", each sales rep's pipeline. Those answers
depend only on the rows of one customer, or of the customers one account manager
looks after (the policy's ``MY_CUSTOMER`` and ``OWN_ACCOUNTS`` scopes). So the
sales ledger's tables now also say which customers a statement touched and who
manages them:

    {"org":1,"tables":["orders"],"customers":[42],"managers":[7]}

and the live engine re-runs a customer's or a rep's query only when its own
customer or manager is named. Every other live query still re-runs on any change
of its tables.

Where the anchors come from:
- ``customers``: the rows themselves (id; the account manager before and after);
- ``orders`` and ``invoices``: their customer (before and after), and that
  customer's account manager, looked up;
- ``order_lines``, ``invoice_lines``, ``payments``: their order's or invoice's
  customer, looked up, and its account manager.

A payload with more than 100 customers, or a row whose customer or account cannot
be found (deleted in the same transaction), leaves the anchors out: the change then
concerns every reader of the table, as before. NOTIFY payloads stay far below the
8000-byte limit.

Why the lookups lock with ``FOR KEY SHARE`` and the unique keys below: a looked-up
anchor must stay true until the change commits. Without that, a customer moved
from rep A to rep B in a transaction that commits between this statement and its
commit would have rep B re-run before this change is visible, and this change would
then name only rep A: B's live query would miss it for good. With the unique keys
``(id, account_manager_id)``, ``(id, customer_id)``, changing an account manager or
an order's customer is a key update, which waits for every ``FOR KEY SHARE`` lock
(and a lookup made after it waits for its commit and reads the new value). Foreign
keys take the same lock on insert; nothing else waits on it, as ordinary updates
take ``FOR NO KEY UPDATE``, which does not conflict.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHANNEL = "bizgraph_changes"
MOST_CUSTOMERS = 100

# Every UNIQUE key here makes its second column's changes key updates (see above).
ANCHOR_KEYS = (
    ("customers", "uq_customers_id_account_manager_id", "id, account_manager_id"),
    ("orders", "uq_orders_id_customer_id", "id, customer_id"),
    ("invoices", "uq_invoices_id_customer_id", "id, customer_id"),
)

# What a statement's rows touched, as ``touched(org, customer, manager)``, for each shape of
# table; ``{rows}`` is the transition table(s) of the event. ``manager`` is NULL when the
# customer has none; ``customer`` is NULL when it could not be found.
_OWN_CUSTOMER = """
    touched AS (
        SELECT r.org_id AS org, r.customer_id AS customer FROM {rows} AS r
    ),
"""
_PARENT_CUSTOMER = """
    parents AS (
        SELECT p.id, p.customer_id FROM {parent} AS p
        WHERE p.id IN (SELECT r.{parent_key} FROM {rows} AS r) FOR KEY SHARE
    ),
    touched AS (
        SELECT r.org_id AS org, p.customer_id AS customer
        FROM {rows} AS r LEFT JOIN parents AS p ON p.id = r.{parent_key}
    ),
"""
_ACCOUNTS = """
    accounts AS (
        SELECT c.id, c.account_manager_id FROM customers AS c
        WHERE c.id IN (SELECT t.customer FROM touched AS t) FOR KEY SHARE
    ),
    anchored AS (
        SELECT t.org, t.customer, a.account_manager_id AS manager, (a.id IS NULL) AS lost
        FROM touched AS t LEFT JOIN accounts AS a ON a.id = t.customer
    )
"""
# ``customers`` names its own anchors: no lookup.
_CUSTOMERS = """
    anchored AS (
        SELECT r.org_id AS org, r.id AS customer, r.account_manager_id AS manager, FALSE AS lost
        FROM {rows} AS r
    )
"""

# One notification per organization the statement touched. Keys in a fixed order and
# sorted arrays: identical changes in one transaction are identical texts, which
# PostgreSQL folds into one notification.
_ANNOUNCE = """
    PERFORM pg_notify('{channel}', CASE
        WHEN bool_or(lost) OR count(DISTINCT customer) > {most}
        THEN json_build_object('org', org, 'tables', json_build_array(TG_TABLE_NAME))::text
        ELSE json_build_object(
            'org', org,
            'tables', json_build_array(TG_TABLE_NAME),
            'customers', coalesce(array_agg(DISTINCT customer ORDER BY customer)
                FILTER (WHERE customer IS NOT NULL), '{{}}'),
            'managers', coalesce(array_agg(DISTINCT manager ORDER BY manager)
                FILTER (WHERE manager IS NOT NULL), '{{}}')
        )::text
    END)
    FROM (WITH {lookup} SELECT * FROM anchored) AS anchored GROUP BY org;
"""

_EVENT_ROWS = {
    "INSERT": "new_rows",
    "UPDATE": "(SELECT * FROM old_rows UNION ALL SELECT * FROM new_rows)",
    "DELETE": "old_rows",
}


def _statement(lookup: str, rows: str) -> str:
    # PL/pgSQL's PERFORM cannot start with WITH: the lookup is a subquery's.
    return _ANNOUNCE.format(channel=CHANNEL, most=MOST_CUSTOMERS, lookup=lookup.format(rows=rows))


def _function(name: str, lookup: str) -> str:
    # Each branch names only the transition tables its event has (a branch is planned only
    # when it runs). UPDATE announces the anchors rows had before and after.
    branches = "\n    ".join(
        f"{'IF' if i == 0 else 'ELSIF'} TG_OP = '{event}' THEN {_statement(lookup, rows)}"
        for i, (event, rows) in enumerate(_EVENT_ROWS.items())
    )
    return f"""
CREATE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    {branches}
    END IF;
    RETURN NULL;
END
$$
"""


# (table, function, how its rows find their customer)
ANCHORED = (
    ("customers", "bizgraph_announce_customer_changes", _CUSTOMERS),
    ("orders", "bizgraph_announce_order_changes", _OWN_CUSTOMER + _ACCOUNTS),
    ("invoices", "bizgraph_announce_invoice_changes", _OWN_CUSTOMER + _ACCOUNTS),
    (
        "order_lines",
        "bizgraph_announce_order_line_changes",
        _PARENT_CUSTOMER.replace("{parent}", "orders").replace("{parent_key}", "order_id") + _ACCOUNTS,
    ),
    (
        "invoice_lines",
        "bizgraph_announce_invoice_line_changes",
        _PARENT_CUSTOMER.replace("{parent}", "invoices").replace("{parent_key}", "invoice_id") + _ACCOUNTS,
    ),
    (
        "payments",
        "bizgraph_announce_payment_changes",
        _PARENT_CUSTOMER.replace("{parent}", "invoices").replace("{parent_key}", "invoice_id") + _ACCOUNTS,
    ),
)

_EVENTS = (
    ("announce_inserts", "INSERT", "REFERENCING NEW TABLE AS new_rows"),
    ("announce_updates", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("announce_deletes", "DELETE", "REFERENCING OLD TABLE AS old_rows"),
)


def _retrigger(table: str, function: str) -> None:
    for trigger, event, transitions in _EVENTS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {event} ON {table} {transitions}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def upgrade() -> None:
    for table, name, columns in ANCHOR_KEYS:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({columns})")
    for table, function, lookup in ANCHORED:
        op.execute(_function(function, lookup))
        _retrigger(table, function)


def downgrade() -> None:
    for table, function, _ in ANCHORED:
        _retrigger(table, "bizgraph_announce_changes")
        op.execute(f"DROP FUNCTION {function}()")
    for table, name, _ in ANCHOR_KEYS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
