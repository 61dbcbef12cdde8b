"""The policy matrix, extended to live queries: for every principal of the matrix and every
root field that reads policy-governed rows, a live query's first message is the query's
answer over HTTP, byte for byte — which tests/auth/test_policy_matrix.py proves is exactly
the rows in scope, the readable values and FORBIDDEN at every withheld path. Then a change
re-runs every principal's group together (one batch, shared statements): the answers must
still be the query's, so no message may follow."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from app.auth import policy
from app.auth.principal import Principal
from app.live.changes import Change
from resolvers.catalog import CATALOG
from resolvers.planner.catalog import Embedded
from tests.auth.test_policy_matrix import (  # noqa: F401 (fixtures)
    ALL_PRINCIPALS,
    ORG,
    ROOT_LISTS,
    _principal,
    _token,
    webhook_rows,
    world,
)
from tests.live.test_live_engine import subscribe
from tests.support.graphql import gql


def _selection(type_name: str) -> str:
    fields = ["id"]
    for name in policy.FIELDS.get(type_name, {}):
        spec = CATALOG[type_name].fields.get(name)
        if spec is None:
            continue
        fields.append(f"{name} {{ city }}" if isinstance(spec, Embedded) else name)
    return " ".join(fields)


ROOTS = {
    **{
        root: f"{{ {root}(first: 100) {{ totalCount nodes {{ {_selection(type_name)} }} }} }}"
        for type_name, root in ROOT_LISTS.items()
    },
    **{
        root: f"{{ {root} {{ count }} }}"
        for root in ("ordersAggregate", "invoicesAggregate", "paymentsAggregate", "employeesAggregate")
    },
    "auditLog": "{ auditLog(first: 50) { totalCount nodes { id entityType } } }",
    "history": "{ employees(first: 20) { nodes { history(first: 5) { nodes { id } } } } }",
}


def _as_principal(principal: dict[str, Any]) -> Principal:
    return Principal(
        org_id=ORG,
        subject="matrix",
        roles=frozenset(principal["roles"]),
        employee_id=principal.get("employee_id"),
        customer_id=principal.get("customer_id"),
    )


@pytest.mark.parametrize("root", sorted(ROOTS))
async def test_every_principals_live_query_answers_what_its_query_answers(app, client, world, root):  # noqa: F811
    query = ROOTS[root]
    live = app.state.live
    expected: list[bytes] = []
    feeds = []
    try:
        for roles in ALL_PRINCIPALS:
            principal = _principal(world, roles)
            # The same positions as the subscription's document, for errors' locations.
            body = await gql(client, "query        " + query, token=_token(app, principal))
            body.pop("extensions", None)
            for error in body.get("errors", []):
                if "requestId" in error["extensions"]:
                    error["extensions"]["requestId"] = "test"
            expected.append(orjson.dumps(body))
            feeds.append(await subscribe(app, _as_principal(principal), "subscription " + query))
        for roles, feed, answer in zip(ALL_PRINCIPALS, feeds, expected, strict=True):
            message = await asyncio.wait_for(anext(aiter(feed)), 5)
            assert message == answer, "+".join(roles)
        live.changed(Change(ORG, frozenset(entity.table for entity in CATALOG.entities.values())))
        await live.engine.settled()
        for feed in feeds:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(aiter(feed)), 0.01)
    finally:
        for feed in feeds:
            await feed.aclose()


EVENTS_PAGE = """query($after: String) {
  events(first: 60, after: $after) { edges { cursor node { id type entityType payload } } }
}"""
EVENT_STREAM = """subscription($after: String) {
  events(after: $after) { cursor node { id type entityType payload } }
}"""


@pytest.mark.parametrize("roles", ALL_PRINCIPALS, ids="+".join)
async def test_every_principals_event_stream_replays_what_its_events_query_reads(app, client, world, roles):  # noqa: F811
    principal = _principal(world, roles)
    token = _token(app, principal)
    admin = await gql(client, "{ events(first: 1) { edges { cursor } } }")
    start = admin["data"]["events"]["edges"][0]["cursor"]
    page = await gql(client, EVENTS_PAGE, {"after": start}, token=token)
    edges = page["data"]["events"]["edges"]
    feed = await subscribe(app, _as_principal(principal), EVENT_STREAM, {"after": start})
    try:
        messages = [orjson.loads(await asyncio.wait_for(anext(aiter(feed)), 5)) for _ in edges]
    finally:
        await feed.aclose()
    assert [m["data"]["events"] for m in messages] == edges
    # Withheld payloads: FORBIDDEN at the same field of the same event.
    expected_errors = sorted((e["path"][2], e["path"][3:], e["extensions"]["code"]) for e in page.get("errors", []))
    got_errors = sorted(
        (index, error["path"][1:], error["extensions"]["code"])
        for index, message in enumerate(messages)
        for error in message.get("errors", [])
    )
    assert got_errors == expected_errors
