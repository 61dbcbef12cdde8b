"""Turning an organization's new outbox events into email deliveries.

The organization's ``email_cursors`` row says up to which outbox position its
events were expanded; a worker locks it with ``FOR UPDATE SKIP LOCKED``, so
while one worker expands an organization the others pass it by. Positions are
handed out at commit in commit order (alembic 0004), so reading past the cursor
never steps over an event that commits late.

An organization the dispatcher meets without a cursor is new: its cursor starts
at 0 and every event it has is mailed. The organizations that existed when
emails came (alembic 0010) and the seeded ones start after their history, which
counts as mailed. One statement makes every delivery of a batch; the
unique (event, recipient, kind) makes a second expansion of an event a no-op.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncConnection

from app.notifications.kinds import KINDS, EmailKind

_START_CURSOR = "INSERT INTO email_cursors (org_id, position) VALUES (%(org)s, 0) ON CONFLICT (org_id) DO NOTHING"
_LOCK_CURSOR = "SELECT position FROM email_cursors WHERE org_id = %(org)s FOR UPDATE SKIP LOCKED"
_BATCH_END = """
SELECT max(position) FROM (
    SELECT position FROM outbox
    WHERE org_id = %(org)s AND position > %(after)s ORDER BY position LIMIT %(batch)s
) AS batch
"""
_MOVE_CURSOR = "UPDATE email_cursors SET position = %(until)s, updated_at = now() WHERE org_id = %(org)s"


def _select(kind: EmailKind) -> str:
    opted_out = f"'{kind.name}' = ANY(r.email_opt_outs)" if kind.customer else "false"
    return f"""
    SELECT e.org_id, e.id, e.event_type, e.entity_type, e.entity_id, '{kind.name}', r.email,
           CASE WHEN {opted_out} THEN 'skipped' ELSE 'pending' END,
           CASE WHEN {opted_out} THEN 'the customer opted out of {kind.name.replace("_", " ")} emails' END,
           CASE WHEN {opted_out} THEN NULL ELSE %(now)s::timestamptz END
    FROM outbox e {kind.recipient}
    WHERE e.org_id = %(org)s AND e.position > %(after)s AND e.position <= %(until)s
      AND e.event_type = '{kind.event}' AND r.email IS NOT NULL"""


_INSERT = (
    "INSERT INTO email_deliveries (org_id, event_id, event_type, entity_type, entity_id, kind, recipient,"
    " status, reason, next_attempt_at)"
    + " UNION ALL ".join(_select(kind) for kind in KINDS)
    + " ON CONFLICT (event_id, recipient, kind) DO NOTHING"
)


async def expand(connection: AsyncConnection, org_id: int, now: dt.datetime, batch: int) -> bool:
    """Expand up to ``batch`` events past the cursor, in the caller's transaction of
    ``org_id``. True when the cursor moved (more events may wait); False when there
    was nothing new or another worker holds the cursor."""
    params = {"org": org_id}
    await connection.exec_driver_sql(_START_CURSOR, params)
    after = (await connection.exec_driver_sql(_LOCK_CURSOR, params)).scalar()
    if after is None:
        return False
    until = (await connection.exec_driver_sql(_BATCH_END, {**params, "after": after, "batch": batch})).scalar()
    if until is None:
        return False
    await connection.exec_driver_sql(_INSERT, {**params, "after": after, "until": until, "now": now})
    await connection.exec_driver_sql(_MOVE_CURSOR, {**params, "until": until})
    return True
