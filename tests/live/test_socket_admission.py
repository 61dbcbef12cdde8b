"""Operations over the socket and over streams pass the same admission as over HTTP: stored
documents named by their hash (and required for some roles), the introspection gate; and an
``EventSource``-style GET subscribes as well as a POST."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from starlette.routing import Route

from resolvers.operations import store
from schema.limits.parsing import document_hash, documents_of
from schema.manifests import check_operations, read_manifest
from tests.support.auth import bearer, token_for_user
from tests.support.websocket_client import answers, init, live_server, send, socket

MY_ORDERS = "query MyOrders { orders(first: 2) { totalCount } }"
MY_LIVE_ORDERS = "subscription MyLiveOrders { orders(first: 2) { totalCount } }"


def by_hash(document: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}}


@pytest.fixture(scope="module")
async def persisted(accounts_settings):
    settings = replace(accounts_settings, demo=False, persisted_only_roles=frozenset({"customer"}))
    async with live_server(settings) as server:
        [view] = [r.endpoint for r in server.app.routes if isinstance(r, Route) and r.path == "/graphql"]
        schema = view.schema._schema
        manifest = read_manifest({document_hash(d): d for d in (MY_ORDERS, MY_LIVE_ORDERS)})
        store(settings, check_operations(schema, documents_of(schema), manifest))
        yield server, settings


async def run(origin: str, token: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    async with socket(origin) as ws:
        await init(ws, token)
        await send(ws, {"id": "op", "type": "subscribe", "payload": payload})
        return await answers(ws, "op")


async def test_a_role_held_to_stored_operations_runs_them_by_hash_over_the_socket_and_nothing_else(persisted):
    server, settings = persisted
    token = token_for_user(settings, "customer@acme.example")
    [refused] = await run(server.origin, token, {"query": "{ orders(first: 1) { totalCount } }"})
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    stored = await run(server.origin, token, by_hash(MY_ORDERS))
    assert [m["type"] for m in stored] == ["next", "complete"]
    http = await server.client.post("/graphql", json=by_hash(MY_ORDERS), headers=bearer(token))
    assert stored[0]["payload"] == http.json()
    # A stored subscription, by its hash too.
    async with socket(server.origin) as ws:
        await init(ws, token)
        await send(ws, {"id": "live", "type": "subscribe", "payload": by_hash(MY_LIVE_ORDERS)})
        message = orjson.loads(await ws.recv())
    assert message["type"] == "next" and message["id"] == "live"
    assert message["payload"]["data"]["orders"]["totalCount"] >= 0


async def test_introspection_over_the_socket_is_refused_to_roles_that_may_not(persisted):
    server, settings = persisted
    introspection = {"query": "{ __schema { queryType { name } } }"}
    [refused] = await run(server.origin, token_for_user(settings, "sales@acme.example"), introspection)
    assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    allowed = await run(server.origin, token_for_user(settings, "analyst@acme.example"), introspection)
    assert allowed[0]["payload"]["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_a_get_with_accept_event_stream_subscribes_like_an_event_source(persisted):
    server, settings = persisted
    token = token_for_user(settings, "admin@acme.example")
    headers = {**bearer(token), "accept": "text/event-stream"}
    params = {"query": "subscription { customers(first: 1) { totalCount } }"}
    async with (
        httpx.AsyncClient(base_url=server.origin, timeout=5) as http,
        http.stream("GET", "/graphql", params=params, headers=headers) as response,
    ):
        assert response.status_code == 200
        text = ""
        async for chunk in response.aiter_text():
            text += chunk
            if "event: next" in text and text.endswith("\n\n"):
                break
    event = next(block for block in text.split("\n\n") if block.startswith("event: next"))
    data = orjson.loads(event.split("data: ", 1)[1])
    assert data["data"]["customers"]["totalCount"] > 0
