"""Webhook rows for tests that walk every type over the shared seeded database.

The seed registers no webhooks; these tests need rows of both organizations to prove
that none of the other's come back. Each organization gets two endpoints, each with a
delivery and an attempt; they are deleted afterwards, so the database stays as seeded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.support.graphql import sql

_INSERT = (
    "WITH e AS (INSERT INTO webhook_endpoints (org_id, url, event_types, secret_sealed)"
    " VALUES (%s, %s, ARRAY['order.placed'], 'sealed') RETURNING id, org_id),"
    " d AS (INSERT INTO webhook_deliveries"
    " (org_id, endpoint_id, event_id, position, entity_type, entity_id)"
    " SELECT e.org_id, e.id, o.id, o.position, o.entity_type, o.entity_id FROM e,"
    " LATERAL (SELECT * FROM outbox WHERE org_id = e.org_id ORDER BY id LIMIT 1) o"
    " RETURNING id, endpoint_id)"
    " INSERT INTO webhook_attempts (org_id, delivery_id, endpoint_id, started_at, latency_ms, succeeded)"
    " SELECT %s, d.id, d.endpoint_id, now(), 5, true FROM d RETURNING id"
)


@contextlib.contextmanager
def webhooks_of_both_organizations(url, org_ids: tuple[int, ...] = (1, 2)) -> Iterator[None]:
    for org_id in org_ids:
        for n in range(2):
            sql(url, _INSERT, org_id, f"https://hooks.example.com/{org_id}/{n}", org_id)
    try:
        yield
    finally:
        sql(url, "DELETE FROM webhook_endpoints RETURNING id")
