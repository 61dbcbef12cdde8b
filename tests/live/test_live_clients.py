"""Unmodified clients in node against the real app on a real port: Apollo Client's HttpLink
(Apollo's multipart protocol), Apollo Client's GraphQLWsLink (graphql-ws) and graphql-sse's
client (distinct connections). Each subscribes, gets the current answer, and gets the new one
after a mutation commits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.auth import bearer, token_for
from tests.support.npm import node_packages
from tests.support.websocket_client import live_server

CLIENTS_DIR = Path(__file__).resolve().parent / "http_clients"
ACME = 1
COUNT = "subscription { customers(first: 1) { totalCount } }"
CREATE = """mutation($name: String!) {
  createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) { errors { code } }
}"""


@pytest.fixture(scope="module")
def node() -> str:
    return node_packages(CLIENTS_DIR)


@pytest.fixture(scope="module")
async def live(writes_settings):
    async with live_server(writes_settings) as server:
        yield server


async def next_line(process: asyncio.subprocess.Process, within: float = 10) -> dict[str, Any]:
    assert process.stdout is not None
    async with asyncio.timeout(within):
        line = await process.stdout.readline()
    assert line, "the client ended early"
    event: dict[str, Any] = orjson.loads(line)
    return event


def total(event: dict[str, Any]) -> int:
    assert "next" in event, event
    count: int = event["next"]["data"]["customers"]["totalCount"]
    return count


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["multipart", "wslink", "sse"])
async def test_an_unmodified_client_sees_the_answer_then_its_change(node, live, mode):
    token = token_for(live.app, org_id=ACME, roles=["admin"])
    process = await asyncio.create_subprocess_exec(
        node,
        str(CLIENTS_DIR / "subscribe.mjs"),
        mode,
        live.origin,
        COUNT,
        "2",
        token,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        first = total(await next_line(process))
        created = await live.client.post(
            "/graphql", json={"query": CREATE, "variables": {"name": f"Client {mode} SE"}}, headers=bearer(token)
        )
        assert created.json()["data"]["createCustomer"]["errors"] == []
        assert total(await next_line(process)) == first + 1
        assert await next_line(process) == {"done": 2}
        _, err = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()


@pytest.mark.timeout(60)
async def test_the_graphql_sse_client_runs_a_query_too(node, live):
    token = token_for(live.app, org_id=ACME, roles=["admin"])
    query = "{ customers(first: 2) { totalCount } }"
    process = await asyncio.create_subprocess_exec(
        node,
        str(CLIENTS_DIR / "subscribe.mjs"),
        "sse",
        live.origin,
        query,
        "1",
        token,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    [answer, done] = [orjson.loads(line) for line in out.splitlines()]
    http = await live.client.post("/graphql", json={"query": query}, headers=bearer(token))
    assert answer == {"next": http.json()}
    assert done == {"done": 1}
