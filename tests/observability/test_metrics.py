"""/metrics through real HTTP round trips: guarded by its own token, and every series moving
with the queries, mutations, errors and subscriptions that ran."""

from __future__ import annotations

import gc
from dataclasses import replace

import pytest

from tests.observability.metrics_text import METRICS_HEADERS, TOKEN, label_values, scrape, value
from tests.support.auth import bearer, token_for_user
from tests.support.graphql import running_app, sql
from tests.support.websocket_client import eventually, init, live_server, receive, socket, subscribe

CUSTOMERS = "query MetricsCustomers { customers(first: 3) { nodes { id name } } }"
COUNT = "{ customers(first: 1) { totalCount } }"
CREATE = """mutation MetricsCreate($name: String!) {
  createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) {
    customer { id } errors { code }
  }
}"""


@pytest.fixture(scope="module")
async def live(writes_settings):
    async with live_server(replace(writes_settings, metrics_token=TOKEN)) as server:
        yield server


@pytest.fixture(scope="module")
def admin(writes_settings):
    return bearer(token_for_user(writes_settings, "admin@acme.example"))


async def test_without_its_setting_the_endpoint_does_not_exist(client):
    # The suite's app sets no BIZGRAPH_METRICS_TOKEN: /metrics is an unknown path, even with a token.
    response = await client.get("/metrics", headers=METRICS_HEADERS)
    assert response.status_code == 404


async def test_the_endpoint_refuses_without_its_token(live, admin):
    for headers in ({}, {"Authorization": "Bearer wrong-token-of-enough-length"}, admin):
        response = await live.client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "bizgraph_graphql_requests" not in response.text
    assert (await live.client.get("/metrics", headers=METRICS_HEADERS)).status_code == 200


async def test_a_query_moves_requests_latency_statements_fast_path_cost_and_caches(live, admin):
    before = await scrape(live.client)
    for _ in range(3):
        response = await live.client.post("/graphql", json={"query": CUSTOMERS}, headers=admin)
        assert response.status_code == 200 and "errors" not in response.json()
    cost = response.json()["extensions"]["cost"]["requested"]
    after = await scrape(live.client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("bizgraph_graphql_requests_total", operation="MetricsCustomers", type="query", outcome="ok") == 3
    assert grew("bizgraph_graphql_request_duration_seconds_count", type="query") >= 3
    assert grew("bizgraph_graphql_request_duration_seconds_sum", type="query") > 0
    # One planned root field: one statement each, counted by the engine's listener.
    assert grew("bizgraph_graphql_statements_per_request_count", type="query") >= 3
    assert grew("bizgraph_graphql_statements_per_request_sum", type="query") >= 3
    assert grew("bizgraph_graphql_fast_path_total", answered="yes") >= 3
    assert grew("bizgraph_cost_spent_total") >= 3 * cost > 0
    # The second time, the parsed and validated document came from the cache (and its plan was
    # kept); the third time, the kept plan answered.
    assert grew("bizgraph_cache_lookups_total", cache="documents", result="hit") >= 1
    assert grew("bizgraph_cache_lookups_total", cache="plans", result="hit") >= 1
    assert value(after, "bizgraph_db_pool_size") == live.app.state.database.pool_size
    assert grew("bizgraph_db_pool_checkouts_total") >= 3
    assert value(after, "bizgraph_db_pool_wait_seconds_total") >= 0


async def test_errors_are_counted_by_code_and_outcome(live, admin):
    before = await scrape(live.client)
    response = await live.client.post("/graphql", json={"query": "query Broken { nope }"}, headers=admin)
    assert response.status_code in (200, 400)
    codes = {error["extensions"]["code"] for error in response.json()["errors"]}
    after = await scrape(live.client)
    for code in codes:
        assert (
            value(after, "bizgraph_graphql_errors_total", code=code)
            - value(before, "bizgraph_graphql_errors_total", code=code)
            == 1
        )
    refused = {"outcome": "refused"}
    assert (
        value(after, "bizgraph_graphql_requests_total", **refused)
        - value(before, "bizgraph_graphql_requests_total", **refused)
        == 1
    )


async def test_a_mutation_and_a_live_subscription_move_their_series(live, admin, writes_settings):
    token = token_for_user(writes_settings, "admin@acme.example")
    before = await scrape(live.client)
    async with socket(live.origin) as ws:
        await init(ws, token)
        await subscribe(ws, "live", "subscription " + COUNT)
        first = await receive(ws)
        assert first["type"] == "next"
        during = await scrape(live.client)
        assert value(during, "bizgraph_live_subscribers") >= 1
        assert value(during, "bizgraph_live_groups") >= 1
        created = await live.client.post(
            "/graphql", json={"query": CREATE, "variables": {"name": "Metrics GmbH"}}, headers=admin
        )
        assert created.json()["data"]["createCustomer"]["errors"] == []
        after_change = await receive(ws)
        assert after_change["id"] == "live"
        after = await scrape(live.client)
    grew = {"operation": "MetricsCreate", "type": "mutation", "outcome": "ok"}
    assert (
        value(after, "bizgraph_graphql_requests_total", **grew)
        - value(before, "bizgraph_graphql_requests_total", **grew)
        == 1
    )
    # A mutation's statements: more than one (its transaction, the outbox, the entity's read).
    assert (
        value(after, "bizgraph_graphql_statements_per_request_sum", type="mutation")
        - value(before, "bizgraph_graphql_statements_per_request_sum", type="mutation")
        > 1
    )
    # The first answer and the one after the commit: re-runs, each with its lag from the change.
    assert value(after, "bizgraph_live_reruns_total") - value(before, "bizgraph_live_reruns_total") >= 2
    assert value(after, "bizgraph_live_delivery_lag_seconds_total") > value(
        before, "bizgraph_live_delivery_lag_seconds_total"
    )

    # The subscriber leaves with its socket; the next scrape says so.
    await eventually(lambda: live.app.state.live.engine.subscriber_count == 0)
    assert value(await scrape(live.client), "bizgraph_live_subscribers") == 0


async def test_operation_names_from_clients_never_grow_the_labels_past_the_cap(demo_settings, admin_headers):
    settings = replace(demo_settings, metrics_token=TOKEN, metrics_max_operation_names=3)
    async with running_app(settings, admin_headers) as (_, client):
        before = await scrape(client)
        for index in range(40):
            query = f"query ManyNames{index} {{ customers(first: 1) {{ totalCount }} }}"
            response = await client.post("/graphql", json={"query": query})
            assert response.status_code == 200
        after = await scrape(client)
    names = {
        name for name in label_values(after, "bizgraph_graphql_requests_total", "operation") if "ManyNames" in name
    }
    assert len(names) <= 3
    other = {"operation": "other", "type": "query", "outcome": "ok"}
    assert (
        value(after, "bizgraph_graphql_requests_total", **other)
        - value(before, "bizgraph_graphql_requests_total", **other)
        >= 37
    )


async def test_rate_limit_refusals_are_counted(demo_settings, admin_headers):
    settings = replace(demo_settings, metrics_token=TOKEN, max_cost=50, rate_limit_cost_per_minute=50)
    async with running_app(settings, admin_headers) as (_, client):
        before = await scrape(client)
        statuses = [
            (await client.post("/graphql", json={"query": "{ customers(first: 20) { nodes { id } } }"})).status_code
            for _ in range(5)
        ]
        after = await scrape(client)
    refused = statuses.count(429)
    assert refused >= 1
    assert (
        value(after, "bizgraph_rate_limit_refusals_total") - value(before, "bizgraph_rate_limit_refusals_total")
        == refused
    )


_OPEN_DELIVERY = (
    "WITH e AS (INSERT INTO webhook_endpoints (org_id, url, event_types, secret_sealed)"
    " VALUES (%s, %s, ARRAY['order.placed'], 'sealed') RETURNING id, org_id)"
    " INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, position, entity_type, entity_id, created_at)"
    " SELECT e.org_id, e.id, o.id, o.position, o.entity_type, o.entity_id, now() - interval '90 seconds' FROM e,"
    " LATERAL (SELECT * FROM outbox WHERE org_id = e.org_id ORDER BY id LIMIT 1) o RETURNING id"
)


async def test_the_webhook_queue_is_read_at_scrape_time(live, writes_settings):
    url = writes_settings.database_url
    before = await scrape(live.client)
    # Open deliveries of both organizations, the oldest made 90 s ago.
    for org_id in (1, 2):
        sql(url, _OPEN_DELIVERY, org_id, f"https://metrics-queue.example.com/{org_id}")
    try:
        during = await scrape(live.client)
    finally:
        sql(url, "DELETE FROM webhook_endpoints WHERE url LIKE 'https://metrics-queue.example.com/%%' RETURNING id")
    after = await scrape(live.client)
    assert value(during, "bizgraph_webhook_queue_depth") == value(before, "bizgraph_webhook_queue_depth") + 2
    assert value(during, "bizgraph_webhook_oldest_undelivered_age_seconds") >= 90
    assert value(after, "bizgraph_webhook_queue_depth") == value(before, "bizgraph_webhook_queue_depth")


async def test_the_cyclic_collectors_pauses_are_timed_by_generation(live):
    before = await scrape(live.client)
    gc.collect(0)
    gc.collect(2)
    gc.collect(2)
    after = await scrape(live.client)

    def grew(name: str, generation: str) -> float:
        return value(after, name, generation=generation) - value(before, name, generation=generation)

    assert grew("bizgraph_gc_pause_seconds_count", "0") >= 1
    assert grew("bizgraph_gc_pause_seconds_count", "2") >= 2
    # A full collection walks every object the process tracks: never nothing at all.
    assert grew("bizgraph_gc_pause_seconds_sum", "2") > 0
