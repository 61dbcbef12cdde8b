"""An operation's objects go when it ends: nothing of it is left in reference cycles for the
cyclic collector (``schema/execution_context.py`` says what such leftovers cost a loaded
server: pauses of the whole event loop)."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.graphql import data
from tests.support.workflow import gid, mutate, sql, token

# Where an operation's own objects come from: the server's packages and the GraphQL engine
# (the test's HTTP client makes cycles of its own, which are not the server's).
SERVER_PACKAGES = frozenset({"app", "schema", "resolvers", "graphql", "strawberry"})

CREATE = (
    "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id } errors { code field message } } }"
)


@contextmanager
def cyclic_garbage() -> Iterator[Counter[str]]:
    """Counts, by type, the server's objects that only the cyclic collector could free among
    what the block leaves behind."""
    gc.collect()
    found: Counter[str] = Counter()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
    finally:
        gc.set_debug(0)
        for leftover in gc.garbage:
            kind = type(leftover)
            if kind.__module__.split(".")[0] in SERVER_PACKAGES:
                found[f"{kind.__module__}.{kind.__qualname__}"] += 1
        gc.garbage.clear()


async def twice(operation: Callable[[], Awaitable[Any]]) -> Counter[str]:
    await operation()  # caches filled, connections opened: what stays for the process
    with cyclic_garbage() as found:
        await operation()
    return found


async def test_a_mutation_leaves_nothing_for_the_cyclic_collector(writes_client, writes_settings) -> None:
    url = writes_settings.database_url
    customer = sql(url, "SELECT id FROM customers WHERE org_id = 1 AND status = 'active' ORDER BY id LIMIT 1")[0][0]
    products = sql(url, "SELECT id FROM products WHERE org_id = 1 AND active ORDER BY id LIMIT 3")
    draft = {
        "customerId": gid("Customer", customer),
        "lines": [{"productId": gid("Product", row[0]), "quantity": 1, "discount": "0"} for row in products],
    }
    admin = token(writes_settings, "admin")

    async def create() -> None:
        payload = await mutate(writes_client, CREATE, {"input": draft}, admin)
        assert payload["errors"] == []

    assert await twice(create) == Counter()


@pytest.mark.parametrize(
    "query",
    [
        # Planned by the planner, with a filter (its compiler).
        "{ orders(first: 2, filter: {status: {eq: DRAFT}}) { nodes { id total customer { name } } } }",
        # Two root fields: graphql-core's executor with the planned resolvers.
        "{ customers(first: 1) { nodes { id } } products(first: 1) { nodes { name } } }",
        # A field of its own resolver (not planned).
        "{ me { roles } }",
    ],
)
async def test_a_query_leaves_nothing_for_the_cyclic_collector(client, query) -> None:
    async def read() -> None:
        await data(client, query)

    assert await twice(read) == Counter()
