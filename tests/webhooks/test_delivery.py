"""Delivery end to end: a real receiver on loopback, events made through the GraphQL API,
the worker's rounds, and what the API then shows of each attempt."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from app.delivery.retry import MAX_ATTEMPTS, RETRY_DELAYS
from tests.support.graphql import data, sql
from tests.support.receiver import receiving
from tests.webhooks.conftest import create_endpoint, create_product, rename_product, run_until_quiet

pytestmark = pytest.mark.usefixtures("clean")

ATTEMPTS = """
query($id: ID!) {
  webhookEndpoint(id: $id) {
    enabled disabledReason queueDepth attemptCount failedAttemptCount failedDeliveryCount failingSince
    deliveries(first: 10) { edges { node { status attempts lastStatusCode deliveredAt event { type } } } }
    attempts(first: 20) { edges { node { statusCode succeeded latencyMs responseBody error startedAt } } }
  }
}"""


async def _endpoint(client, admin, id_):
    return (await data(client, ATTEMPTS, {"id": id_}, token=admin))["webhookEndpoint"]


async def test_a_delivery_is_signed_so_standardwebhooks_verifies_it(hooks_client, admin, worker):
    async with receiving() as receiver:
        endpoint = await create_endpoint(hooks_client, admin, receiver.url)
        assert endpoint["secret"].startswith("whsec_")
        product = await create_product(hooks_client, admin)
        # The worker's own clock is real here: the receiver checks the timestamp's freshness.
        worker.clock = lambda: dt.datetime.now(dt.UTC)
        assert await run_until_quiet(worker) == 1

    [request] = receiver.requests
    verified = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert verified["type"] == "product.created"
    assert verified["entityId"] == product["id"]
    assert verified["data"]["sku"] == orjson.loads(request.body)["data"]["sku"]
    assert request.headers["webhook-signature"].startswith("v1,")
    # Another secret does not verify it.
    from app.delivery.signing import new_secret

    with pytest.raises(Exception, match="No matching signature"):
        Webhook(new_secret()).verify(request.body, request.headers)

    shown = await _endpoint(hooks_client, admin, endpoint["id"])
    assert shown["queueDepth"] == 0 and shown["attemptCount"] == 1 and shown["failedAttemptCount"] == 0
    [delivery] = [edge["node"] for edge in shown["deliveries"]["edges"]]
    assert (
        delivery["status"] == "DELIVERED"
        and delivery["attempts"] == 1
        and delivery["event"]["type"] == "product.created"
    )
    [attempt] = [edge["node"] for edge in shown["attempts"]["edges"]]
    assert attempt["statusCode"] == 200 and attempt["succeeded"] and attempt["responseBody"] == "answered 200"


async def test_a_receiver_that_fails_three_times_then_succeeds_gets_the_event_acknowledged_once(
    hooks_client, admin, worker, clock
):
    async with receiving() as receiver:
        receiver.answering(500, 502, 503, then=200)
        endpoint = await create_endpoint(hooks_client, admin, receiver.url)
        await create_product(hooks_client, admin)
        gaps = []
        for expected in range(1, 5):
            assert await worker.run_once() == 1, f"attempt {expected}"
            assert len(receiver.requests) == expected
            # Nothing is due before the schedule says.
            assert await worker.run_once() == 0
            [(next_at,)] = sql(
                hooks_client_url(worker),
                "SELECT next_attempt_at FROM webhook_deliveries WHERE endpoint_id = %s",
                endpoint_pk(endpoint),
            )
            gaps.append(next_at - clock.now)
            clock.now = max(clock.now, next_at) + dt.timedelta(milliseconds=1)
        assert await worker.run_once() == 0

    # The same message every time, acknowledged once.
    assert len({request.message_id for request in receiver.requests}) == 1
    # Retries followed the schedule (jitter within 10 %).
    for gap, scheduled in zip(gaps[:3], RETRY_DELAYS, strict=False):
        assert scheduled * 0.9 <= gap <= scheduled * 1.1
    shown = await _endpoint(hooks_client, admin, endpoint["id"])
    [delivery] = [edge["node"] for edge in shown["deliveries"]["edges"]]
    assert delivery["status"] == "DELIVERED" and delivery["attempts"] == 4 and delivery["lastStatusCode"] == 200
    statuses = [edge["node"]["statusCode"] for edge in shown["attempts"]["edges"]]
    assert statuses == [200, 503, 502, 500]  # newest first
    assert shown["failedAttemptCount"] == 3 and shown["failingSince"] is None and shown["enabled"]


async def test_a_receiver_down_for_the_whole_window_disables_the_endpoint(hooks_client, admin, worker, clock):
    async with receiving() as receiver:
        receiver.answering(then=503)
        endpoint = await create_endpoint(hooks_client, admin, receiver.url)
        await create_product(hooks_client, admin)
        for _ in range(MAX_ATTEMPTS):
            assert await worker.run_once() == 1
            clock.advance(dt.timedelta(hours=11))
        # Disabled: an event that commits now waits (no delivery is even made for it).
        await create_product(hooks_client, admin)
        assert await worker.run_once() == 0
    assert len(receiver.requests) == MAX_ATTEMPTS
    shown = await _endpoint(hooks_client, admin, endpoint["id"])
    assert not shown["enabled"] and shown["disabledReason"] == "FAILING"
    [delivery] = [edge["node"] for edge in shown["deliveries"]["edges"]]
    assert delivery["status"] == "FAILED" and delivery["attempts"] == MAX_ATTEMPTS
    assert shown["failedDeliveryCount"] == 1
    events = await data(
        hooks_client,
        'query { events(last: 1, filter: { type: { eq: "webhook_endpoint.disabled" } }) '
        "{ edges { node { type entityId payload } } } }",
        token=admin,
    )
    [event] = [edge["node"] for edge in events["events"]["edges"]]
    assert event["entityId"] == endpoint["id"]
    assert event["payload"] == {"url": receiver.url, "reason": "failing", "lastStatusCode": 503}


async def test_410_gone_disables_the_endpoint_at_once(hooks_client, admin, worker):
    async with receiving() as receiver:
        receiver.answering(then=410)
        endpoint = await create_endpoint(hooks_client, admin, receiver.url)
        product = await create_product(hooks_client, admin)
        await rename_product(hooks_client, admin, product, "renamed")
        await run_until_quiet(worker)
    # The product's second event waited for its first, and now for the endpoint to come back.
    assert len(receiver.requests) == 1
    shown = await _endpoint(hooks_client, admin, endpoint["id"])
    assert not shown["enabled"] and shown["disabledReason"] == "GONE" and shown["queueDepth"] == 1


async def test_events_of_one_entity_arrive_in_commit_order(hooks_client, admin, worker):
    async with receiving() as receiver:
        receiver.delay = 0.01
        await create_endpoint(hooks_client, admin, receiver.url, maxConcurrency=8)
        products = [await create_product(hooks_client, admin) for _ in range(3)]
        for round_ in range(3):
            for product in products:
                await rename_product(hooks_client, admin, product, f"round {round_}")
        await run_until_quiet(worker)
    assert receiver.overlapping == []  # the next event of a product waited for the previous one's answer
    bodies = [orjson.loads(request.body) for request in receiver.requests]
    assert len(bodies) == 12
    for product in products:
        kinds = [body["type"] for body in bodies if body["entityId"] == product["id"]]
        assert kinds == ["product.created"] + ["product.updated"] * 3
        names = [body["data"].get("fields") for body in bodies if body["entityId"] == product["id"]]
        assert names[1:] == [["name"]] * 3


def hooks_client_url(worker):
    return worker.database.url


def endpoint_pk(endpoint):
    from resolvers.planner.ids import decode_id

    return decode_id(endpoint["id"], "WebhookEndpoint")[1]
