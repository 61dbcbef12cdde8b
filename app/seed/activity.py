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

# The invoice emails of the last 90 days of that history, as the dispatcher would have
# sent them (app/notifications): a delivery and one accepted attempt each, so the
# admins' email log has something to show. Each organization's email cursor starts
# after its seeded events: the dispatcher mails what happens from now on.
_EMAILS = """
WITH recent AS (
    SELECT e.* FROM outbox e
    WHERE e.event_type = 'invoice.issued'
      AND e.occurred_at > (SELECT max(occurred_at) FROM outbox) - interval '90 days'
), sent AS (
    INSERT INTO email_deliveries (org_id, event_id, event_type, entity_type, entity_id, kind, recipient, status,
                                  subject, attempts, sent_at, created_at, updated_at)
    SELECT e.org_id, e.id, e.event_type, e.entity_type, e.entity_id, 'invoice_issued', c.email, 'sent',
           coalesce(o.email_sender_name, o.name) || ': invoice ' || i.number || ' for '
               || to_char(i.total, 'FM999,999,999,990.00') || ' ' || o.currency,
           1, e.occurred_at + interval '2 seconds', e.occurred_at, e.occurred_at + interval '2 seconds'
    FROM recent e
    JOIN invoices i ON i.id = e.entity_id
    JOIN customers c ON c.id = i.customer_id
    JOIN organizations o ON o.id = e.org_id
    WHERE c.email IS NOT NULL
    RETURNING id, org_id, sent_at
)
INSERT INTO email_attempts (org_id, delivery_id, attempt_no, attempted_at, outcome, smtp_code, smtp_response,
                            latency_ms)
SELECT org_id, id, 1, sent_at, 'sent', 250, 'OK: queued', 40 + mod(id, 60)::int FROM sent
"""
_EMAIL_CURSORS = """
INSERT INTO email_cursors (org_id, position)
SELECT o.id, coalesce((SELECT max(position) FROM outbox e WHERE e.org_id = o.id), 0) FROM organizations o
ON CONFLICT (org_id) DO UPDATE SET position = EXCLUDED.position
"""

# The sequences that number new orders, customers and employees (alembic 0004)
# continue after the highest number the seed used.
_NUMBER_SEQUENCES = {"order_numbers": "orders", "customer_numbers": "customers", "employee_numbers": "employees"}


def record_history(conn: psycopg.Connection) -> None:
    conn.execute(_ORDERS)
    conn.execute(_INVOICES)
    conn.execute(_EMAILS)
    conn.execute(_EMAIL_CURSORS)
    for sequence, table in _NUMBER_SEQUENCES.items():
        conn.execute(
            f"SELECT setval('{sequence}', COALESCE((SELECT max(substring(number from '[0-9]+$')::bigint)"
            f" FROM {table}), 0) + 1, false)"
        )
