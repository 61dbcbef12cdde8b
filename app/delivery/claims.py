"""Claiming due deliveries, so that each is being sent by one worker at a time.

A claim is made in a short transaction and then committed: the POST happens outside
any transaction, so a slow receiver holds no connection and no lock. What a claim
holds instead is a lease: ``status = 'delivering'`` until ``lease_until`` (the
endpoint's timeout plus a grace period), with a token only the claiming worker
knows. A worker killed mid-delivery never reports; once its lease ends the
delivery is due again and the next worker claims it (its token no longer matches,
so a late report from the first changes nothing but the attempt log).

While a delivery is claimed its ``next_attempt_at`` is its lease's end, so "due" is
one condition for both kinds: pending and due, or claimed with an expired lease.

Per endpoint, claims lock the endpoint's row (``SKIP LOCKED``: an endpoint another
worker is claiming for is skipped this round), count the leases still running, and
claim at most ``max_concurrency`` minus that many: the cap holds across all workers.
Per entity, only the oldest open delivery (by commit position) of an entity may be
claimed: its successors wait until it is delivered or has failed for good, so one
order's events arrive in commit order while other entities' go on in parallel.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.delivery.sql import rows

_ENDPOINTS = """
SELECT e.id, e.max_concurrency - (
    SELECT count(*) FROM webhook_deliveries f
    WHERE f.endpoint_id = e.id AND f.status = 'delivering' AND f.next_attempt_at > %(now)s
) AS free
FROM webhook_endpoints e
WHERE e.org_id = %(org)s AND e.enabled AND EXISTS (
    SELECT 1 FROM webhook_deliveries d
    WHERE d.org_id = %(org)s AND d.endpoint_id = e.id
      AND d.status IN ('pending', 'delivering') AND d.next_attempt_at <= %(now)s
)
ORDER BY e.id
FOR UPDATE OF e SKIP LOCKED
"""

# The head of each entity's chain (its oldest open delivery) is found by walking the
# open-deliveries index in its own order, (entity, position), so the plan does not
# depend on statistics: it reads each open delivery of the endpoint once (an
# anti-join over fresh, unanalysed rows once took 1.5 s for 3,000 of them).
_CLAIM = """
WITH heads AS (
    SELECT DISTINCT ON (h.entity_type, h.entity_id) h.id, h.position, h.next_attempt_at
    FROM webhook_deliveries h
    WHERE h.endpoint_id = %(endpoint)s AND h.status IN ('pending', 'delivering')
    ORDER BY h.entity_type, h.entity_id, h.position
), picked AS (
    SELECT d.id FROM webhook_deliveries d
    WHERE d.id IN (
        SELECT heads.id FROM heads WHERE heads.next_attempt_at <= %(now)s ORDER BY heads.position LIMIT %(limit)s
    )
      AND d.status IN ('pending', 'delivering') AND d.next_attempt_at <= %(now)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
SET status = 'delivering',
    lease_until = %(now)s + make_interval(secs => e.timeout_seconds + %(grace)s),
    next_attempt_at = %(now)s + make_interval(secs => e.timeout_seconds + %(grace)s),
    claim = %(claim)s || '-' || d.id
FROM picked, outbox o, webhook_endpoints e
WHERE d.id = picked.id AND o.id = d.event_id AND e.id = d.endpoint_id
RETURNING d.id, d.org_id, d.endpoint_id, d.attempts, d.claim, d.position,
    encode(convert_to('IntegrationEvent:' || o.id, 'UTF8'), 'base64') AS event_gid,
    encode(convert_to(o.entity_type || ':' || o.entity_id, 'UTF8'), 'base64') AS entity_gid,
    o.event_type, o.entity_type, o.payload, o.occurred_at,
    e.url, e.timeout_seconds, e.secret_sealed,
    CASE WHEN e.previous_secret_expires_at > %(now)s THEN e.previous_secret_sealed END AS previous_secret_sealed
"""


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds the lease of, with what its POST needs."""

    delivery_id: int
    org_id: int
    endpoint_id: int
    attempts: int  # made before this one
    claim: str
    position: int
    event_gid: str
    entity_gid: str
    event_type: str
    entity_type: str
    payload: dict[str, Any]
    occurred_at: dt.datetime
    url: str
    timeout_seconds: int
    sealed_secrets: tuple[str, ...]  # newest first


async def claim_due(
    connection: AsyncConnection, org_id: int, now: dt.datetime, limit: int, *, grace_seconds: int
) -> list[Claimed]:
    """Up to ``limit`` due deliveries of the organization, claimed for this worker.
    The caller's transaction is scoped to ``org_id`` and commits the claims."""
    token = secrets.token_hex(8)
    claimed: list[Claimed] = []
    for endpoint in await rows(connection, _ENDPOINTS, {"org": org_id, "now": now}):
        room = min(int(endpoint["free"]), limit - len(claimed))
        if room <= 0:
            continue
        found = await rows(
            connection,
            _CLAIM,
            {"endpoint": endpoint["id"], "now": now, "limit": room, "grace": grace_seconds, "claim": token},
        )
        claimed.extend(_claimed(row) for row in sorted(found, key=lambda r: r["position"]))
        if len(claimed) >= limit:
            break
    return claimed


def _claimed(row: Any) -> Claimed:
    sealed = [row["secret_sealed"]]
    if row["previous_secret_sealed"]:
        sealed.append(row["previous_secret_sealed"])
    return Claimed(
        delivery_id=row["id"],
        org_id=row["org_id"],
        endpoint_id=row["endpoint_id"],
        attempts=row["attempts"],
        claim=row["claim"],
        position=row["position"],
        event_gid=row["event_gid"],
        entity_gid=row["entity_gid"],
        event_type=row["event_type"],
        entity_type=row["entity_type"],
        payload=row["payload"],
        occurred_at=row["occurred_at"],
        url=row["url"],
        timeout_seconds=row["timeout_seconds"],
        sealed_secrets=tuple(sealed),
    )
