"""The retry schedule, the webhook settings, and ``bizgraph prune``."""

from __future__ import annotations

import asyncio

import pytest

from app.cli import main
from app.config import Settings
from app.delivery.settings import WebhookSettings
from app.errors import ConfigError
from tests.support.graphql import count_statements, data, sql
from tests.support.receiver import receiving
from tests.webhooks.conftest import create_endpoint, create_product, execute, run_until_quiet


def test_settings_from_the_environment():
    production = Settings.from_env({}).webhooks
    assert production.secret_keys == () and not production.allow_http and production.allowed_networks == ()
    demo = Settings.from_env({"BIZGRAPH_DEMO": "true"}).webhooks
    assert demo.secret_keys and demo.allow_http
    chosen = WebhookSettings.from_env(
        {"BIZGRAPH_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8, 127.0.0.1", "BIZGRAPH_WEBHOOK_TIMEOUT_SECONDS": "3"},
        demo=False,
    )
    assert [str(n) for n in chosen.allowed_networks] == ["10.0.0.0/8", "127.0.0.1/32"] and chosen.timeout_seconds == 3
    for env in (
        {"BIZGRAPH_WEBHOOK_SECRET_KEYS": "not-a-key"},
        {"BIZGRAPH_WEBHOOK_ALLOWED_NETWORKS": "example.com"},
        {"BIZGRAPH_WEBHOOK_TIMEOUT_SECONDS": "0"},
    ):
        with pytest.raises(ConfigError):
            Settings.from_env(env)


@pytest.mark.usefixtures("clean")
async def test_prune_deletes_what_retention_lets_go_and_nothing_else(
    hooks_client, admin, hooks_settings, worker, monkeypatch
):
    url = hooks_settings.database_url
    async with receiving() as receiver:
        receiver.answering(then=500)
        await create_endpoint(hooks_client, admin, receiver.url)
        await create_product(hooks_client, admin)  # stays pending (500s)
        await run_until_quiet(worker)
        receiver.answering(then=200)
        await create_endpoint(
            hooks_client, admin, receiver.url.replace("/hooks", "/ok"), eventTypes=["product.created"]
        )
        await create_product(hooks_client, admin)
        await run_until_quiet(worker)
    # Everything is old now: 40 days.
    execute(
        url,
        "UPDATE webhook_deliveries SET delivered_at = delivered_at - interval '40 days',"
        " last_attempt_at = last_attempt_at - interval '40 days', created_at = created_at - interval '40 days'",
    )
    execute(url, "UPDATE idempotency_keys SET created_at = created_at - interval '40 days'")
    execute(url, "UPDATE outbox SET occurred_at = occurred_at - interval '400 days'")
    before = dict(sql(url, "SELECT status, count(*) FROM webhook_deliveries GROUP BY status"))
    assert before["delivered"] >= 1 and before["pending"] >= 1
    open_events = sql(url, "SELECT event_id FROM webhook_deliveries WHERE status = 'pending'")
    env = {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "BIZGRAPH_DELIVERY_RETENTION_DAYS": "30",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["prune"]) == 0
    after = dict(sql(url, "SELECT status, count(*) FROM webhook_deliveries GROUP BY status"))
    assert "delivered" not in after and after["pending"] == before["pending"]
    assert sql(
        url,
        "SELECT count(*) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
        " WHERE d.status = 'delivered'",
    ) == [(0,)]
    # Outbox events go, except those an open delivery still needs and those not yet fanned out.
    remaining = {row[0] for row in sql(url, "SELECT id FROM outbox")}
    assert {event for (event,) in open_events} <= remaining
    assert sql(
        url,
        "SELECT count(*) FROM outbox o, webhook_progress p WHERE o.org_id = p.org_id"
        " AND o.position <= p.position AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
        " WHERE d.event_id = o.id)",
    ) == [(0,)]
    assert sql(url, "SELECT count(*) FROM idempotency_keys") == [(0,)]


@pytest.mark.usefixtures("clean")
async def test_listing_endpoints_with_their_deliveries_is_one_statement_however_many(
    hooks_client, admin, hooks_served, worker
):
    query = (
        "query { webhookEndpoints(first: 50) { edges { node { url queueDepth attemptCount"
        " deliveries(first: 50) { edges { node { status event { type }"
        " attemptLog { edges { node { statusCode } } } } } }"
        " } } } }"
    )
    counts = []
    async with receiving() as receiver:
        for size in (1, 4):
            while len((await data(hooks_client, query, token=admin))["webhookEndpoints"]["edges"]) < size:
                await create_endpoint(hooks_client, admin, receiver.url)
            for _ in range(size):
                await create_product(hooks_client, admin)
            await run_until_quiet(worker)
            with count_statements(hooks_served[0]) as seen:
                await data(hooks_client, query, token=admin)
            counts.append(len(seen))
    assert counts[0] == counts[1] == 1
