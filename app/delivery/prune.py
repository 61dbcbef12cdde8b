"""``bizgraph prune``: delete what retention lets go, per organization.

- deliveries that are over (delivered, or failed for good) and whose last activity is
  older than the delivery retention, with their attempts;
- outbox events older than the outbox retention, once they are fanned out and no
  open delivery needs them (an event stream resuming from a cursor older than the
  retention finds them gone);
- idempotency keys older than their retention (a retry that late acts again).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery.settings import WebhookSettings
from app.delivery.sql import execute

_DELIVERIES = """
DELETE FROM webhook_deliveries d
WHERE d.org_id = %(org)s AND d.status IN ('delivered', 'failed')
  AND coalesce(d.delivered_at, d.last_attempt_at, d.created_at) < %(before)s
"""

_EVENTS = """
DELETE FROM outbox o
WHERE o.org_id = %(org)s AND o.occurred_at < %(before)s AND o.position IS NOT NULL
  AND o.position <= coalesce((SELECT p.position FROM webhook_progress p WHERE p.org_id = %(org)s), 0)
  AND NOT EXISTS (
      SELECT 1 FROM webhook_deliveries d WHERE d.event_id = o.id AND d.status IN ('pending', 'delivering')
  )
"""

_KEYS = "DELETE FROM idempotency_keys WHERE org_id = %(org)s AND created_at < %(before)s"


@dataclass
class Pruned:
    deliveries: int = 0
    events: int = 0
    idempotency_keys: int = 0


async def prune(connection: AsyncConnection, org_id: int, settings: WebhookSettings, now: dt.datetime) -> Pruned:
    """The caller's transaction is scoped to ``org_id``."""
    days = dt.timedelta(days=1)
    return Pruned(
        deliveries=await execute(
            connection, _DELIVERIES, {"org": org_id, "before": now - settings.delivery_retention_days * days}
        ),
        events=await execute(
            connection, _EVENTS, {"org": org_id, "before": now - settings.outbox_retention_days * days}
        ),
        idempotency_keys=await execute(
            connection, _KEYS, {"org": org_id, "before": now - settings.idempotency_retention_days * days}
        ),
    )
