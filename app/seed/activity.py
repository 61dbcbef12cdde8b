"""The audit trail and integration events the seeded history would have left:
one ``order.placed`` per placed order and one ``invoice.issued`` per issued invoice,
so the audit log and the event feed have something to show from the start. Their
payloads follow the event catalog (``app/events``) like the commands' own: the
test suite holds every outbox row against it.

The seed owns the whole database while it loads, so it numbers the events'
commit positions itself, in time order (the commit trigger leaves them be)."""

from __future__ import annotations

import psycopg

_ORDERS = """
WITH placed AS (
    SELECT o.org_id, o.id, o.number, o.status, o.total, o.placed_at FROM orders o WHERE o.placed_at IS NOT NULL
), audit AS (
    INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id, changes, at)
    SELECT org_id, 'seed', 'order.placed', 'Order', id,
           jsonb_build_object('status', jsonb_build_object('before', 'draft', 'after', 'placed')), placed_at
    FROM placed
)
INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload, occurred_at, position)
SELECT org_id, 'order.placed', 'Order', id,
       jsonb_build_object('number', number, 'status', 'placed', 'total', total::text), placed_at,
       nextval('outbox_position_seq')
FROM (SELECT * FROM placed ORDER BY placed_at, id) p
"""

_INVOICES = """
WITH issued AS (
    SELECT i.org_id, i.id, i.number, i.order_id, i.total, i.issued_at FROM invoices i WHERE i.issued_at IS NOT NULL
), audit AS (
    INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id, changes, at)
    SELECT org_id, 'seed', 'invoice.issued', 'Invoice', id,
           jsonb_build_object('number', jsonb_build_object('before', NULL, 'after', number)), issued_at
    FROM issued
)
INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload, occurred_at, position)
SELECT org_id, 'invoice.issued', 'Invoice', id,
       jsonb_build_object('number', number, 'orderId', encode(convert_to('Order:' || order_id, 'UTF8'), 'base64'),
                          'total', total::text), issued_at,
       nextval('outbox_position_seq')
FROM (SELECT * FROM issued ORDER BY issued_at, id) i
"""


# The sequences that number new orders, customers and employees (alembic 0004)
# continue after the highest number the seed used.
_NUMBER_SEQUENCES = {"order_numbers": "orders", "customer_numbers": "customers", "employee_numbers": "employees"}


def record_history(conn: psycopg.Connection) -> None:
    conn.execute(_ORDERS)
    conn.execute(_INVOICES)
    for sequence, table in _NUMBER_SEQUENCES.items():
        conn.execute(
            f"SELECT setval('{sequence}', COALESCE((SELECT max(substring(number from '[0-9]+$')::bigint)"
            f" FROM {table}), 0) + 1, false)"
        )
