"""An unmodified graphql-ws client (the npm package, in node) against the real app on a real
port: it subscribes with its token in connectionParams, sees the current answer, is closed
(4403) when its token expires, reconnects on its own with the fresh token its connectionParams
give, resubscribes, and sees the answer change after a mutation."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.auth import bearer, token_for
from tests.support.npm import node_packages
from tests.support.websocket_client import live_server, ws_url

CLIENT_DIR = Path(__file__).resolve().parent / "graphql_ws_client"
ACME = 1
COUNT = "subscription { customers(first: 1) { totalCount } }"
CREATE = """mutation {
  createCustomer(input: {name: "Node Client KG", kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) {
    errors { code }
  }
}"""


@pytest.fixture(scope="module")
def node() -> str:
    return node_packages(CLIENT_DIR)


async def next_line(process: asyncio.subprocess.Process, within: float = 10) -> dict[str, Any]:
    assert process.stdout is not None
    async with asyncio.timeout(within):
        line = await process.stdout.readline()
    assert line, "the client ended early"
    event: dict[str, Any] = orjson.loads(line)
    return event


@pytest.mark.timeout(120)
async def test_the_graphql_ws_client_subscribes_reconnects_with_a_fresh_token_and_sees_changes(node, writes_settings):
    settings = replace(writes_settings, token_leeway_seconds=0)
    fresh = token_for(settings, org_id=ACME, roles=["admin"])
    async with live_server(settings) as server:
        short = token_for(settings, org_id=ACME, roles=["admin"], ttl_seconds=6)
        process = await asyncio.create_subprocess_exec(
            node,
            str(CLIENT_DIR / "subscribe.mjs"),
            ws_url(server.origin),
            COUNT,
            "3",
            short,
            fresh,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert await next_line(process) == {"connected": 1}
            first = await next_line(process)
            # At the short token's expiry: closed 4403, and the client comes back on its own.
            assert await next_line(process) == {"closed": 4403, "reason": "Forbidden: the access token expired"}
            assert await next_line(process) == {"connected": 2}
            again = await next_line(process)
            assert again == first
            created = await server.client.post("/graphql", json={"query": CREATE}, headers=bearer(fresh))
            assert created.json()["data"]["createCustomer"]["errors"] == []
            changed = await next_line(process)
            assert await next_line(process) == {"done": 3}
            _, err = await asyncio.wait_for(process.communicate(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()
    total = first["next"]["data"]["customers"]["totalCount"]
    assert changed["next"]["data"]["customers"]["totalCount"] == total + 1
