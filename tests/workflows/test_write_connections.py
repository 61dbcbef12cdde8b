"""Writes after a database restart: a write's first exchange (BEGIN and the organization,
``Database.unit_of_work``) finds a dead pooled connection out before the command did anything,
and the write runs on another one."""

from __future__ import annotations

import asyncio

from tests.support.db import app_backends, terminate_app_connections
from tests.support.graphql import running_app
from tests.support.workflow import count, gid, mutate, sql, token

CREATE = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id } errors { code } } }"


async def test_writes_after_the_database_drops_every_connection_still_succeed(writes_settings):
    url = writes_settings.database_url
    customer = sql(url, "SELECT id FROM customers WHERE org_id = 1 AND status = 'active' ORDER BY id LIMIT 1")[0][0]
    (product,) = sql(url, "SELECT id FROM products WHERE org_id = 1 AND active ORDER BY id LIMIT 1")[0]
    draft = {"customerId": gid("Customer", customer), "lines": [{"productId": gid("Product", product), "quantity": 1}]}
    admin = token(writes_settings, "admin")
    # The shared apps' connections to this database stay: later tests use them.
    shared = app_backends(url, listener_too=True)
    async with running_app(writes_settings) as (_, client):
        # Three writes at once: three connections of the engine's pool, pooled afterwards.
        first = await asyncio.gather(*(mutate(client, CREATE, {"input": draft}, admin) for _ in range(3)))
        assert all(payload["errors"] == [] for payload in first)
        before = count(url, "orders")
        assert terminate_app_connections(url, listener_too=True, sparing=shared) >= 1
        for _ in range(3):  # each pooled connection is dead; every write still succeeds, once
            payload = await mutate(client, CREATE, {"input": draft}, admin)
            assert payload["errors"] == [] and payload["order"] is not None
        assert count(url, "orders") == before + 3
