"""Every operation runs in one OperationScope, closed exactly once however the
operation ends (answered, refused, failed, cancelled), and its connection goes
back to the pool, out of any transaction."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from resolvers.scope import OperationScope
from tests.support.graphql import data, error_codes, gql
from tests.support.workflow import mutate, token

LONE_ROOT_FIELD = "{ customers(first: 2) { totalCount nodes { name } } }"  # answered by the fast path
SEVERAL_ROOT_FIELDS = "{ a: customers(first: 1) { totalCount } b: orders(first: 1) { totalCount } }"
NESTED_READS = "{ me { organization { name } employee { fullName } } }"  # the standard way, several statements
QUERIES = pytest.mark.parametrize("query", [LONE_ROOT_FIELD, SEVERAL_ROOT_FIELDS, NESTED_READS])
MISSING = base64.b64encode(b"Customer:999999999").decode()
CREATE_PRODUCT = (
    "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { sku } errors { code } } }"
)


class ScopeSpy:
    """The scopes opened while a test runs and how often each was closed."""

    def __init__(self) -> None:
        self.opened: list[OperationScope] = []
        self.closes: Counter[int] = Counter()

    def closes_per_scope(self) -> list[int]:
        return [self.closes[id(scope)] for scope in self.opened]


@pytest.fixture
def scopes(monkeypatch: pytest.MonkeyPatch) -> ScopeSpy:
    spy = ScopeSpy()
    original_init, original_close = OperationScope.__init__, OperationScope.close

    def init(self: OperationScope, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        spy.opened.append(self)

    async def close(self: OperationScope) -> None:
        spy.closes[id(self)] += 1
        await original_close(self)

    monkeypatch.setattr(OperationScope, "__init__", init)
    monkeypatch.setattr(OperationScope, "close", close)
    return spy


class PoolEvents:
    """Connections checked out, returned and discarded since it was made: reads' pool
    (app/connection_pool.py) and the engine's (writes) together, read live."""

    def __init__(self, app: Any) -> None:
        self.engine_events: Counter[str] = Counter()
        self._reads = app.state.database.requests
        self._before = self._reads_counts()

    def _reads_counts(self) -> dict[str, int]:
        stats = self._reads.stats
        return {"checkout": stats.checkouts, "checkin": stats.returns, "invalidate": stats.discards}

    def __getitem__(self, name: str) -> int:
        return self.engine_events[name] + self._reads_counts()[name] - self._before[name]


@contextlib.contextmanager
def pool_events(app: Any) -> Iterator[PoolEvents]:
    """How many connections the block checked out, returned and discarded."""
    engine = app.state.database.engine.sync_engine
    events = PoolEvents(app)
    listeners = {
        name: (lambda *args, _name=name: events.engine_events.update([_name]))
        for name in ("checkout", "checkin", "invalidate")
    }
    for name, listener in listeners.items():
        event.listen(engine, name, listener)
    try:
        yield events
    finally:
        for name, listener in listeners.items():
            event.remove(engine, name, listener)


@contextlib.contextmanager
def statements_replaced_by(app: Any, replacement: str) -> Iterator[asyncio.Event]:
    """Every planner statement becomes ``replacement``; the event is set once one was sent."""
    engine = app.state.database.engine.sync_engine
    sent = asyncio.Event()

    def replace(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> Any:
        sent.set()
        return replacement, {}

    event.listen(engine, "before_cursor_execute", replace, retval=True)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", replace)


def assert_pool_settled(app: Any, events: PoolEvents) -> None:
    """Every connection the operation took is back in the pool, none discarded."""
    assert app.state.database.requests.stats.in_use == 0
    assert events["checkout"] == events["checkin"] >= 1
    assert events["invalidate"] == 0


@QUERIES
async def test_a_query_closes_its_scope_once_and_returns_its_connection(app, client, scopes, query):
    with pool_events(app) as events:
        await data(client, query)
    assert scopes.closes_per_scope() == [1]
    assert_pool_settled(app, events)


async def test_a_mutation_closes_its_scope_once_and_returns_its_connection(
    writes_app, writes_client, writes_settings, scopes
):
    product = {"sku": f"S-{uuid.uuid4().hex[:10].upper()}", "name": "Scope probe", "unitPrice": "1.00"}
    with pool_events(writes_app) as events:
        payload = await mutate(writes_client, CREATE_PRODUCT, {"input": product}, token(writes_settings, "admin"))
    assert payload["errors"] == [] and payload["product"]["sku"] == product["sku"]
    assert scopes.closes_per_scope() == [1]
    assert_pool_settled(writes_app, events)  # the command's own transaction, committed and returned


@pytest.mark.parametrize(
    "query",
    [
        f'{{ customer(id: "{MISSING}") {{ name }} }}',
        f'{{ a: customers(first: 1) {{ totalCount }} b: customer(id: "{MISSING}") {{ name }} }}',
    ],
)
async def test_a_refused_query_closes_its_scope_once_and_returns_its_connection(app, client, scopes, query):
    with pool_events(app) as events:
        body = await gql(client, query)
    assert error_codes(body) == ["NOT_FOUND"]
    assert scopes.closes_per_scope() == [1]
    assert_pool_settled(app, events)


@QUERIES
async def test_a_query_failing_in_the_database_closes_its_scope_once_and_returns_its_connection(
    app, client, scopes, query
):
    # The standard way masks the failure as a field error (HTTP 200); the fast path
    # lets it through to the server's error handling (HTTP 500, the same code).
    # Either way the scope ends.
    failing = statements_replaced_by(app, "SELECT 1 / 0")
    with pool_events(app) as events, failing:
        response = await client.post("/graphql", json={"query": query})
        assert response.status_code in (200, 500)
        assert "INTERNAL_SERVER_ERROR" in error_codes(response.json())
    assert scopes.closes_per_scope() == [1]
    assert_pool_settled(app, events)  # the failed transaction was rolled back, the connection kept
    await data(client, LONE_ROOT_FIELD)


@QUERIES
async def test_a_cancelled_request_closes_its_scope_once_and_returns_its_connection(app, client, scopes, query):
    with pool_events(app) as events:
        with statements_replaced_by(app, "SELECT pg_sleep(5)") as sent:
            request = asyncio.create_task(gql(client, query))
            await asyncio.wait_for(sent.wait(), 2)
            await asyncio.sleep(0.1)  # the statement is on the wire
            request.cancel()
            with pytest.raises(asyncio.CancelledError):
                await request
        assert scopes.closes_per_scope() == [1]
        # psycopg cancels the statement in the server, so the connection's state
        # is known again: rolled back, it is fit for the pool. (Had it stayed cut
        # off mid-exchange, closing would have discarded it: resolvers/transaction.py.)
        assert_pool_settled(app, events)
    assert (await asyncio.wait_for(data(client, LONE_ROOT_FIELD), 2))["customers"]["totalCount"] > 0
