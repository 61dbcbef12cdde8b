"""Given a client's ``X-Request-Id`` or W3C ``traceparent``, when it calls ``/graphql``, then bizgraph
repeats a short, safe id, replaces anything else, and takes a valid trace id as the request id."""

from __future__ import annotations

import re

import pytest

from tests.support.auth import bearer
from tests.support.graphql import sql
from tests.support.workflow import mutate, token

QUERY = {"query": "{ customers(first: 1) { totalCount } }"}
GENERATED = re.compile(r"[0-9a-f]{32}")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def _request_id(client, headers):
    response = await client.post("/graphql", json=QUERY, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["x-request-id"]


async def test_a_short_safe_request_id_is_kept(client):
    assert await _request_id(client, {"X-Request-Id": "checkout-7f3a.retry_2"}) == "checkout-7f3a.retry_2"
    assert await _request_id(client, {"X-Request-Id": "a" * 64}) == "a" * 64


@pytest.mark.parametrize(
    "sent",
    ["a" * 65, "x" * 4000, "has space", "semi;colon", "quote'd", "<script>", "tab\there", "ünïcode"],
)
async def test_a_long_or_unsafe_request_id_is_replaced(client, sent):
    chosen = await _request_id(client, {"X-Request-Id": sent.encode("utf-8")})
    assert chosen != sent and GENERATED.fullmatch(chosen)


async def test_without_a_request_id_each_request_gets_its_own(client):
    assert (await _request_id(client, {})) != (await _request_id(client, {}))


async def test_a_valid_traceparent_lends_its_trace_id(client):
    assert await _request_id(client, {"traceparent": TRACEPARENT}) == TRACE_ID
    # The client's own safe request id still wins: the trace id is only the fallback.
    assert await _request_id(client, {"traceparent": TRACEPARENT, "X-Request-Id": "mine"}) == "mine"
    # ... and a request id that is refused falls back to the trace id.
    assert await _request_id(client, {"traceparent": TRACEPARENT, "X-Request-Id": "z" * 65}) == TRACE_ID


@pytest.mark.parametrize(
    "traceparent",
    [
        f"ff-{TRACE_ID}-00f067aa0ba902b7-01",  # version ff is never valid
        f"00-{'0' * 32}-00f067aa0ba902b7-01",  # all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01",  # upper-case hex
        f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra",  # version 00 has four fields
        f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01",
        "not a traceparent",
    ],
)
async def test_an_invalid_traceparent_is_ignored(client, traceparent):
    chosen = await _request_id(client, {"traceparent": traceparent})
    assert chosen != TRACE_ID and GENERATED.fullmatch(chosen)


async def test_a_refused_token_answer_carries_the_request_id_too(client):
    response = await client.post("/graphql", json=QUERY, headers={**bearer("nope"), "X-Request-Id": "b" * 100})
    assert response.status_code == 401
    assert GENERATED.fullmatch(response.headers["x-request-id"])


async def test_the_audit_log_records_the_replacement_not_the_clients_value(writes_client, writes_settings):
    sent = "r" * 200
    create = (
        "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } errors { code } } }"
    )
    customer = {"input": {"name": "Request Id AG", "kind": "COMPANY", "segment": "ENTERPRISE", "country": "CH"}}
    writes_client.headers["X-Request-Id"] = sent
    try:
        payload = await mutate(writes_client, create, customer, token(writes_settings, "admin"))
    finally:
        del writes_client.headers["X-Request-Id"]
    assert payload["errors"] == []
    (recorded,) = sql(
        writes_settings.database_url,
        "SELECT request_id FROM audit_log WHERE action = 'customer.created' ORDER BY id DESC LIMIT 1",
    )
    assert GENERATED.fullmatch(recorded[0])
