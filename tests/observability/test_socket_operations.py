"""Operations over a graphql-transport-ws socket are counted and logged as HTTP requests are,
told apart by their transport: real sockets on a real port, /metrics read with
prometheus-client's parser, log lines parsed as JSON."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
import pytest

from app.logs import JsonFormatter
from tests.observability.metrics_text import TOKEN, scrape, value
from tests.support.auth import bearer, token_for_user
from tests.support.websocket_client import answers, init, live_server, receive, send, socket, subscribe

QUERY = "query SocketCustomers { customers(first: 2) { nodes { id name } } }"
CREATE = """mutation SocketCreate($name: String!) {
  createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) {
    customer { id } errors { code }
  }
}"""
WATCH = "subscription SocketWatch { customers(first: 1) { totalCount } }"
SECRET = "Socket Secret 4711 GmbH"


@pytest.fixture(scope="module")
async def live(writes_settings):
    async with live_server(replace(writes_settings, metrics_token=TOKEN)) as server:
        yield server


@pytest.fixture(scope="module")
def admin_token(writes_settings) -> str:
    return token_for_user(writes_settings, "admin@acme.example")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the request logger writes, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bizgraph.request")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def request_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in map(orjson.loads, stream.getvalue().splitlines()) if line["logger"] == "bizgraph.request"]


async def test_socket_queries_mutations_refusals_and_subscriptions_are_counted_by_transport(live, admin_token):
    before = await scrape(live.client)
    async with socket(live.origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "q", QUERY)
        query = await answers(ws, "q")
        assert [m["type"] for m in query] == ["next", "complete"] and "errors" not in query[0]["payload"]
        await subscribe(ws, "m", CREATE, {"name": "Socket Metrics GmbH"})
        mutation = await answers(ws, "m")
        assert mutation[0]["payload"]["data"]["createCustomer"]["errors"] == []
        await subscribe(ws, "bad", "query SocketBad { nope }")
        assert [m["type"] for m in await answers(ws, "bad")] == ["error"]
        # A subscription counts once it ends (here: completed by the client)
        await subscribe(ws, "s", WATCH)
        assert (await receive(ws))["id"] == "s"
        await send(ws, {"id": "s", "type": "complete"})
        # (a query after it answers only once the socket's loop has handled the complete)
        await subscribe(ws, "q2", QUERY)
        await answers(ws, "q2")
    # And over HTTP, one query, for comparison
    response = await live.client.post("/graphql", json={"query": QUERY}, headers=bearer(admin_token))
    assert response.status_code == 200
    after = await scrape(live.client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "bizgraph_graphql_requests_total"
    websocket = {"transport": "websocket"}
    assert grew(requests, operation="SocketCustomers", type="query", outcome="ok", **websocket) == 2
    assert grew(requests, operation="SocketCustomers", type="query", outcome="ok", transport="http") == 1
    assert grew(requests, operation="SocketCreate", type="mutation", outcome="ok", **websocket) == 1
    # (a document that does not validate has no operation to name: "invalid", as over HTTP)
    assert grew(requests, operation="invalid", outcome="refused", **websocket) == 1
    assert grew(requests, operation="SocketWatch", type="subscription", outcome="ok", **websocket) == 1
    assert grew("bizgraph_graphql_request_duration_seconds_count", type="query", **websocket) == 2
    assert grew("bizgraph_graphql_request_duration_seconds_count", type="mutation", **websocket) == 1
    assert grew("bizgraph_graphql_request_duration_seconds_sum", type="mutation", **websocket) > 0
    # The statements a socket's operation sends count for it, as for an HTTP request
    assert grew("bizgraph_graphql_statements_per_request_sum", type="mutation") >= 1
    assert grew("bizgraph_graphql_statements_per_request_sum", type="query") >= 3
    assert grew("bizgraph_graphql_fast_path_total", answered="yes") >= 3
    assert grew("bizgraph_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") >= 1
    assert grew("bizgraph_cost_spent_total") > 0


async def test_a_socket_operation_writes_one_request_line_with_its_transport(live, admin_token, json_lines):
    async with socket(live.origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "m", CREATE, {"name": SECRET})
        [first, *_] = await answers(ws, "m")
        assert first["payload"]["data"]["createCustomer"]["errors"] == []
        await subscribe(ws, "bad", "{ nope }")
        [refusal] = await answers(ws, "bad")
    written = [line for line in request_lines(json_lines) if line["transport"] == "websocket"]
    assert [line["operation_name"] for line in written] == ["SocketCreate", None]
    created, refused = written
    assert created["operation_type"] == "mutation" and created["outcome"] == "ok" and created["status"] == 200
    assert created["statements"] >= 1 and created["duration_ms"] > 0 and created["cost"] >= 1
    assert created["subject"] and "admin" in created["roles"]
    assert refused["outcome"] == "refused" and refused["error_codes"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert refusal["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # Each operation's request id is the socket's, numbered
    socket_id = created["request_id"].rsplit("-", 1)[0]
    assert [created["request_id"], refused["request_id"]] == [f"{socket_id}-1", f"{socket_id}-2"]
    # Nothing personal: the variables stay out
    assert SECRET not in json_lines.getvalue()


async def test_a_subscription_open_for_long_is_not_a_slow_query(writes_settings, admin_token):
    """The slow-query log is for operations that took long, not for subscriptions that stayed
    open: with every operation slow past 1 ms, a socket's mutation (a commit takes longer) is
    logged as slow, its subscription (open for longer still) is not."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("bizgraph.slow_query")
    logger.addHandler(handler)
    try:
        async with live_server(replace(writes_settings, slow_query_ms=1)) as server, socket(server.origin) as ws:
            await init(ws, admin_token)
            await subscribe(ws, "w", WATCH)
            first = await receive(ws)
            assert first["id"] == "w" and first["type"] == "next"
            await asyncio.sleep(0.05)  # open well past the threshold
            await subscribe(ws, "m", CREATE, {"name": "Slow Log GmbH"})
            await answers(ws, "m")
            await send(ws, {"type": "complete", "id": "w"})
            await subscribe(ws, "q", QUERY)  # answered after the subscription ended
            await answers(ws, "q")
    finally:
        logger.removeHandler(handler)
    slow = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert "mutation" in [line["operation_type"] for line in slow]
    assert "subscription" not in [line["operation_type"] for line in slow]
