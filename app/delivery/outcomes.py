"""What an attempt leaves behind: its log row, and the delivery's and endpoint's next state.

- 2xx: the delivery is delivered; the endpoint is healthy again.
- 410 Gone: the receiver says the endpoint is gone for good: the endpoint is
  disabled at once (its deliveries wait for an admin to enable it again).
- anything else (another status, a timeout, a refused connection, a refused
  target): tried again after ``next_attempt_delay``; once the schedule is exhausted
  the delivery has failed, and when the endpoint has not succeeded once since this
  delivery's first failure, it has failed for a whole retry window: disabled.

An endpoint the worker disables gets a ``webhook_endpoint.disabled`` event and an
audit row, in the same transaction, for the organization's admins.

The attempt is always logged; the rest only while this worker's claim still holds
(a lease that ran out may already belong to another worker).
"""

from __future__ import annotations

import datetime as dt
import random

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery.claims import Claimed
from app.delivery.retry import next_attempt_delay
from app.delivery.sql import execute, row
from app.delivery.transport import Response
from app.events.webhooks import WEBHOOK_DISABLED, WebhookDisabledPayload

ACTOR = "bizgraph worker"

# One statement: the attempt's log row, the delivery's new state (only while this
# worker's claim holds), and the endpoint's health. The endpoint's row is written
# only when its health changes (first failure, first success after failures): every
# delivery to an endpoint writing its row would make concurrent deliveries wait for
# each other's commits.
_RECORD = """
WITH logged AS (
    INSERT INTO webhook_attempts (org_id, delivery_id, endpoint_id, started_at, latency_ms, status_code, succeeded,
                                  error, response_body)
    VALUES (%(org)s, %(delivery)s, %(endpoint)s, %(started)s, %(latency)s, %(code)s, %(succeeded)s, %(error)s,
            %(body)s)
), settled AS (
    UPDATE webhook_deliveries
    SET status = %(status)s::text, attempts = attempts + 1, next_attempt_at = %(next)s, lease_until = NULL,
        claim = NULL, last_attempt_at = %(started)s, last_status_code = %(code)s, last_error = %(error)s,
        delivered_at = CASE WHEN %(succeeded)s THEN %(now)s::timestamptz END
    WHERE id = %(delivery)s AND claim = %(claim)s
    RETURNING id
), health AS (
    UPDATE webhook_endpoints
    SET failing_since = CASE WHEN %(succeeded)s THEN NULL ELSE %(started)s::timestamptz END
    WHERE id = %(endpoint)s AND EXISTS (SELECT FROM settled)
      AND CASE WHEN %(succeeded)s THEN failing_since IS NOT NULL ELSE failing_since IS NULL END
)
SELECT EXISTS (SELECT FROM settled) AS settled
"""

# Whether the endpoint failed throughout this delivery's life: it has been failing
# since no later than the delivery's first attempt.
_FAILED_THROUGHOUT = """
SELECT e.failing_since IS NOT NULL AND e.failing_since <= (
    SELECT min(a.started_at) FROM webhook_attempts a WHERE a.delivery_id = %(delivery)s
) AS failed
FROM webhook_endpoints e WHERE e.id = %(endpoint)s
"""

_DISABLE = """
UPDATE webhook_endpoints
SET enabled = false, disabled_reason = %(reason)s, disabled_at = %(now)s, version = version + 1, updated_at = now()
WHERE id = %(endpoint)s AND enabled
RETURNING url
"""

_ANNOUNCE = """
WITH audit AS (
    INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id, changes)
    VALUES (%(org)s, %(actor)s, %(event)s, 'WebhookEndpoint', %(endpoint)s, %(changes)s::jsonb)
)
INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload)
VALUES (%(org)s, %(event)s, 'WebhookEndpoint', %(endpoint)s, %(payload)s::jsonb)
"""


def _text(body: bytes) -> str:
    # PostgreSQL text holds no NUL; a body cut inside a character is decoded leniently.
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


async def record(
    connection: AsyncConnection,
    claimed: Claimed,
    response: Response,
    *,
    started: dt.datetime,
    now: dt.datetime,
    rng: random.Random | None = None,
) -> str | None:
    """Log the attempt and settle the delivery; its new status (None: the claim was lost).
    The caller's transaction is scoped to the delivery's organization."""
    ids = {"org": claimed.org_id, "delivery": claimed.delivery_id, "endpoint": claimed.endpoint_id}
    attempts = claimed.attempts + 1
    if response.succeeded:
        status, next_at = "delivered", now
    elif response.status_code == 410:
        status, next_at = "failed", now
    else:
        delay = next_attempt_delay(attempts, rng)
        status, next_at = ("failed", now) if delay is None else ("pending", now + delay)
    recorded = await row(
        connection,
        _RECORD,
        {
            **ids,
            "started": started,
            "latency": response.latency_ms,
            "code": response.status_code,
            "succeeded": response.succeeded,
            "error": response.error,
            "body": _text(response.body) if response.status_code is not None else None,
            "status": status,
            "next": next_at,
            "now": now,
            "claim": claimed.claim,
        },
    )
    if recorded is None or not recorded["settled"]:
        return None
    if response.succeeded:
        return status
    if response.status_code == 410:
        await disable(connection, claimed, "gone", response.status_code, now)
    elif status == "failed":
        failed = await row(connection, _FAILED_THROUGHOUT, ids)
        if failed is not None and failed["failed"]:
            await disable(connection, claimed, "failing", response.status_code, now)
    return status


async def disable(
    connection: AsyncConnection, claimed: Claimed, reason: str, status_code: int | None, now: dt.datetime
) -> None:
    ids = {"org": claimed.org_id, "endpoint": claimed.endpoint_id}
    disabled = await row(connection, _DISABLE, {**ids, "reason": reason, "now": now})
    if disabled is None:
        return  # already disabled (by an admin, or another delivery's failure)
    payload = WebhookDisabledPayload(
        url=disabled["url"], reason="gone" if reason == "gone" else "failing", lastStatusCode=status_code
    )
    event = WEBHOOK_DISABLED.announce(payload)
    changes = {"enabled": {"before": True, "after": False}, "disabledReason": {"before": None, "after": reason}}
    await execute(
        connection,
        _ANNOUNCE,
        {
            **ids,
            "actor": ACTOR,
            "event": event.event.name,
            "changes": orjson.dumps(changes).decode(),
            "payload": orjson.dumps(event.payload).decode(),
        },
    )
