"""Several workers at once, and a worker killed mid-delivery."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import signal
from collections import Counter
from dataclasses import replace

import orjson
import pytest

from app.db import Database
from app.delivery.claims import Claimed
from app.delivery.worker import Worker
from resolvers.planner.ids import decode_id
from tests.support.graphql import data, sql
from tests.support.receiver import receiving
from tests.support.serving import BIZGRAPH
from tests.webhooks.conftest import create_endpoint, create_product, rename_product

pytestmark = pytest.mark.usefixtures("clean")


class CountingWorker(Worker):
    delivered = 0

    async def deliver(self, claimed: Claimed) -> str | None:
        self.delivered += 1
        return await super().deliver(claimed)


async def _wait_for(receiver, count: int, seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while len(receiver.requests) < count:
            receiver.arrived.clear()
            await receiver.arrived.wait()


async def test_two_workers_deliver_each_event_once_and_keep_each_entitys_order(hooks_client, admin, hooks_settings):
    async with receiving() as receiver:
        receiver.delay = 0.005
        await create_endpoint(hooks_client, admin, receiver.url, maxConcurrency=6)
        await create_endpoint(hooks_client, admin, receiver.url.replace("/hooks", "/second"), maxConcurrency=6)
        products = [await create_product(hooks_client, admin) for _ in range(6)]
        for round_ in range(4):
            for product in products:
                await rename_product(hooks_client, admin, product, f"round {round_}")
        expected = 2 * len(products) * 5
        # Two worker processes' worth: separate pools, each its own loop of rounds.
        settings = replace(hooks_settings.webhooks, worker_concurrency=4, poll_ms=20)
        databases = [Database(hooks_settings), Database(hooks_settings)]
        workers = [CountingWorker(db, settings, rng=random.Random(n)) for n, db in enumerate(databases)]
        stop = asyncio.Event()
        runs = [asyncio.create_task(worker.run(stop)) for worker in workers]
        try:
            await _wait_for(receiver, expected)
            await asyncio.sleep(0.3)  # anything extra would arrive now
        finally:
            stop.set()
            await asyncio.gather(*runs)
            for worker, db in zip(workers, databases, strict=True):
                await worker.close()
                await db.dispose()

    assert receiver.overlapping == []  # one entity's events never in flight together
    # Exactly once per (event, endpoint).
    received = Counter((request.path, request.message_id) for request in receiver.requests)
    assert len(received) == expected and set(received.values()) == {1}
    # Both workers did some of the work.
    assert all(worker.delivered > 0 for worker in workers), [worker.delivered for worker in workers]
    # Per endpoint and entity, in commit order as they arrived: created, then each rename in turn.
    arrived: dict[tuple[str, str], list[str]] = {}
    for request in receiver.requests:
        body = orjson.loads(request.body)
        arrived.setdefault((request.path, body["entityId"]), []).append(body["id"])
    assert len(arrived) == 2 * len(products)
    positions = dict(sql(hooks_settings.database_url, "SELECT id, position FROM outbox"))
    for events in arrived.values():
        order = [positions[decode_id(gid, "IntegrationEvent")[1]] for gid in events]
        assert len(order) == 5 and order == sorted(order)


async def test_a_worker_killed_mid_delivery_loses_nothing(hooks_client, admin, hooks_settings, database):
    async with receiving() as receiver:
        receiver.hold = asyncio.Event()  # the first request gets no answer while the worker lives
        endpoint = await create_endpoint(hooks_client, admin, receiver.url, timeoutSeconds=30)
        await create_product(hooks_client, admin)
        env = {
            **os.environ,
            "DATABASE_URL": hooks_settings.database_url.render_as_string(hide_password=False),
            "BIZGRAPH_WEBHOOK_SECRET_KEYS": hooks_settings.webhooks.secret_keys[0],
            "BIZGRAPH_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "BIZGRAPH_WEBHOOK_ALLOW_HTTP": "true",
            "BIZGRAPH_LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            BIZGRAPH, "worker", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            await asyncio.wait_for(receiver.arrived.wait(), 30)
        finally:
            process.send_signal(signal.SIGKILL)  # mid-delivery: no goodbye, no report
            await process.wait()
        [(status, lease_until)] = sql(hooks_settings.database_url, "SELECT status, lease_until FROM webhook_deliveries")
        assert status == "delivering"
        receiver.hold.set()
        # The next worker takes the delivery over once the dead one's lease has run out.
        later = lease_until + dt.timedelta(seconds=1)
        successor = Worker(database, hooks_settings.webhooks, clock=lambda: later)
        try:
            assert await successor.run_once() == 1
            assert await successor.run_once() == 0
        finally:
            await successor.close()
    assert len(receiver.requests) == 2
    assert receiver.requests[0].message_id == receiver.requests[1].message_id  # at least once: the same message
    shown = await data(
        hooks_client,
        "query($id: ID!) { webhookEndpoint(id: $id) { queueDepth deliveries { edges { node { status } } } } }",
        {"id": endpoint["id"]},
        token=admin,
    )
    assert shown["webhookEndpoint"]["queueDepth"] == 0
    assert [e["node"]["status"] for e in shown["webhookEndpoint"]["deliveries"]["edges"]] == ["DELIVERED"]
