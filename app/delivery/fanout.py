"""From the outbox to deliveries: one per (event, enabled endpoint that wants its type).

Each organization's progress row records the last outbox position turned into
deliveries. A worker locks it with ``SKIP LOCKED`` (another worker fanning out the
same organization just now is left to it), reads the events after it in commit
order, inserts their deliveries and moves the position, in one transaction: a
worker that dies half-way leaves the position where it was, and the unique
(endpoint, event) pair makes the next try insert nothing twice. Positions are
handed out as transactions commit and in commit order (alembic 0004), so an event
never appears behind a position already passed.

An endpoint receives the events committed after it was created (older ones when an
admin replays them); a ping (``webhook_endpoint.ping``) goes to the endpoint it is
about, and only to it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery.sql import execute, row
from app.events.webhooks import WEBHOOK_PING

BATCH = 1000

# An organization's first fan-out starts where its oldest endpoint started (or at the
# outbox's end): endpoints receive only what was committed after they were created.
_START = """
INSERT INTO webhook_progress (org_id, position)
SELECT %(org)s, coalesce(
    (SELECT min(start_after_position) FROM webhook_endpoints WHERE org_id = %(org)s),
    (SELECT max(position) FROM outbox WHERE org_id = %(org)s),
    0)
ON CONFLICT (org_id) DO NOTHING
"""

_LOCK_PROGRESS = "SELECT position FROM webhook_progress WHERE org_id = %(org)s FOR UPDATE SKIP LOCKED"

_FAN_OUT = """
WITH events AS (
    SELECT o.id, o.position, o.event_type, o.entity_type, o.entity_id
    FROM outbox o
    WHERE o.org_id = %(org)s AND o.position > %(after)s
    ORDER BY o.position
    LIMIT %(batch)s
), made AS (
    INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, position, entity_type, entity_id, next_attempt_at)
    SELECT %(org)s, e.id, ev.id, ev.position, ev.entity_type, ev.entity_id, %(now)s
    FROM events ev
    JOIN webhook_endpoints e ON e.org_id = %(org)s AND e.enabled AND CASE
        WHEN ev.event_type = %(ping)s THEN ev.entity_type = 'WebhookEndpoint' AND ev.entity_id = e.id
        ELSE ev.event_type = ANY (e.event_types) AND ev.position > e.start_after_position
    END
    ORDER BY ev.position, e.id
    ON CONFLICT (endpoint_id, event_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT max(position) FROM events) AS last, (SELECT count(*) FROM made) AS made
"""


async def fan_out(connection: AsyncConnection, org_id: int, now: dt.datetime) -> int:
    """Deliveries for the organization's next events (up to ``BATCH``); how many were made.
    The caller's transaction is scoped to ``org_id``."""
    params = {"org": org_id}
    await execute(connection, _START, params)
    progress = await row(connection, _LOCK_PROGRESS, params)
    if progress is None:
        return 0  # another worker is at it
    result = await row(
        connection,
        _FAN_OUT,
        {**params, "after": progress["position"], "batch": BATCH, "now": now, "ping": WEBHOOK_PING.name},
    )
    if result is None or result["last"] is None:
        return 0
    await execute(
        connection,
        "UPDATE webhook_progress SET position = %(last)s, updated_at = now() WHERE org_id = %(org)s",
        {**params, "last": result["last"]},
    )
    made: int = result["made"]
    return made
