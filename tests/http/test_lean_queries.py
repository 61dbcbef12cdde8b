"""The lean path for JSON queries and mutations (app/http/lean_queries.py) answers exactly as
the general HTTP path: same status, same headers, same bytes, for answers and refusals alike;
and it is what answers the common request."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.http.lean_queries import LeanPath
from tests.support.auth import bearer, token_for_user
from tests.support.graphql import running_app

Q1 = (
    "query($id: ID!) { customer(id: $id) { id number name kind email phone segment country taxId creditLimit status } }"
)
CUSTOMER = "Q3VzdG9tZXI6MQ=="
REFUSED_ORDER = (
    "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id } errors { code field message } } }"
)
# Answered without the ids and numbers that differ from one write to the next.
CREATE_CUSTOMER = (
    "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) {"
    " customer { name kind segment status version creditLimit } errors { code field message } } }"
)

# (body, whether the lean path answers it itself)
REQUESTS: list[tuple[dict[str, Any] | bytes, bool]] = [
    ({"query": Q1, "variables": {"id": CUSTOMER}}, True),
    ({"query": "{ customers(first: 3) { totalCount nodes { name orders(first: 2) { nodes { total } } } } }"}, True),
    ({"query": "{ ordersAggregate(groupBy: {bucket: MONTH, dimensions: [STATUS]}) { bucket status count } }"}, True),
    ({"query": "query A { me { email } } query B { __typename }", "operationName": "B"}, True),
    ({"query": '{ node(id: "Q3VzdG9tZXI6MQ==") { id ... on Customer { name } } }'}, True),
    ({"query": '{ customer(id: "bm9wZQ==") { id } }'}, True),
    ({"query": Q1, "variables": {"id": CUSTOMER}, "operationName": None}, True),
    # The cost gate refuses it before anything runs.
    (
        {
            "query": "{ customers(first: 100) { nodes { orders(first: 100) { nodes {"
            " lines(first: 100) { nodes { quantity } } } } } } }"
        },
        True,
    ),
    # Request errors: the general path words them.
    ({"query": "{ customers { nope } }"}, False),
    ({"query": "{ customers { "}, False),
    ({"query": Q1}, False),
    ({"query": Q1, "variables": {"id": 5}}, True),  # an ID may be sent as a number
    ({"query": Q1, "variables": {"id": [5]}}, False),
    ({"query": "query A { me { email } } query B { __typename }"}, False),
    ({"query": "mutation { __typename }"}, True),
    # A command refused before it writes: its payload's errors, no write position.
    ({"query": REFUSED_ORDER, "variables": {"input": {"customerId": "bm9wZQ==", "lines": []}}}, True),
    ({"query": REFUSED_ORDER, "variables": {"input": {"customerId": CUSTOMER, "lines": "x"}}}, False),
    ({"query": "subscription { __typename }"}, False),
    ({"query": Q1, "variables": {"id": CUSTOMER}, "extensions": {}}, False),
    ({"query": "{ __typename }", "variables": "x"}, False),
    ([{"query": "{ __typename }"}], False),
    (b'{"query": "{ __typename }"', False),
    (b"null", False),
    ({"query": "{ customers(first: 1) { nodes { name } } }\u0000"}, False),
]

ACCEPTS = [
    None,
    "application/json",
    "application/graphql-response+json",
    "*/*",
    "application/graphql-response+json;q=0.5, application/json",
]


@pytest.fixture(scope="module")
async def general(demo_settings):
    async with running_app(replace(demo_settings, lean_queries=False)) as (_, http):
        yield http


@pytest.fixture(scope="module")
async def lean(demo_settings):
    async with running_app(demo_settings) as (_, http):
        yield http


@pytest.fixture
def lean_answers(monkeypatch) -> list[int]:
    """One entry per request the lean path answered itself."""
    answered: list[int] = []
    original = LeanPath.answer

    async def counting(self, *args: Any, **kwargs: Any) -> None:
        answered.append(1)
        await original(self, *args, **kwargs)

    monkeypatch.setattr(LeanPath, "answer", counting)
    return answered


async def _send(
    http: httpx.AsyncClient, body: dict[str, Any] | list[Any] | bytes, headers: dict[str, str]
) -> httpx.Response:
    headers = {"content-type": "application/json", "x-request-id": "lean-and-general", **headers}
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return await http.post("/graphql", content=content, headers=headers)


def _comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((name, value) for name, value in response.headers.items() if name not in ("date", "server"))
    return response.status_code, headers, response.content


@pytest.mark.parametrize(("body", "taken"), REQUESTS)
@pytest.mark.parametrize("accept", ACCEPTS)
async def test_the_lean_path_answers_with_the_general_paths_status_headers_and_bytes(
    demo_settings, lean, general, lean_answers, body, taken, accept
):
    headers = bearer(token_for_user(demo_settings, "admin@acme.example"))
    if accept is not None:
        headers["accept"] = accept
    expected = _comparable(await _send(general, body, headers))
    assert lean_answers == []  # the general app never takes the lean path
    assert _comparable(await _send(lean, body, headers)) == expected
    assert lean_answers == ([1] if taken else [])


@pytest.mark.parametrize(
    "email", ["sales@acme.example", "employee@acme.example", "customer@acme.example", "analyst@acme.example"]
)
async def test_withheld_fields_and_row_scopes_read_the_same_for_every_role(
    demo_settings, lean, general, lean_answers, email
):
    headers = bearer(token_for_user(demo_settings, email))
    body = {
        "query": "{ employees(first: 5) { nodes { fullName salary manager { fullName salary } } }"
        " orders(first: 5) { nodes { number total customer { name creditLimit } } } }"
    }
    expected = _comparable(await _send(general, body, headers))
    assert _comparable(await _send(lean, body, headers)) == expected
    assert lean_answers == [1]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no token
        {"authorization": "Bearer not-a-token"},
        {"authorization": "Basic YTpi"},
    ],
)
async def test_a_request_without_a_good_token_is_refused_alike(lean, general, lean_answers, headers):
    body = {"query": Q1, "variables": {"id": CUSTOMER}}
    expected = _comparable(await _send(general, body, headers))
    assert _comparable(await _send(lean, body, headers)) == expected
    assert expected[0] == 401
    assert lean_answers == []


async def test_other_requests_go_the_general_way_untouched(demo_settings, lean, lean_answers):
    headers = bearer(token_for_user(demo_settings, "admin@acme.example"))
    get = await lean.get("/graphql", params={"query": "{ __typename }"}, headers=headers)
    assert get.status_code == 200 and get.json()["data"] == {"__typename": "Query"}
    stream = await _send(lean, {"query": "{ __typename }"}, {**headers, "accept": "text/event-stream"})
    assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
    plan = await _send(lean, {"query": "{ customers(first: 1) { totalCount } }"}, {**headers, "x-bizgraph-plan": "1"})
    assert plan.status_code == 200 and "plan" in plan.json()["extensions"]
    assert lean_answers == []


async def test_a_budget_that_ran_out_is_refused_alike(demo_settings, lean_answers):
    # A budget of 3 per minute, on a clock that stands still: three answers, then 429s
    # with the same Retry-After from either path.
    settings = replace(demo_settings, rate_limit_cost_per_minute=3)
    headers = bearer(token_for_user(demo_settings, "admin@acme.example"))
    body = {"query": "{ customers(first: 1) { nodes { name } } }"}
    answers = {}
    for lean_queries in (False, True):
        async with running_app(replace(settings, lean_queries=lean_queries), clock=lambda: 1_000_000.0) as (_, http):
            answers[lean_queries] = [_comparable(await _send(http, body, headers)) for _ in range(6)]
    assert answers[True] == answers[False]
    assert [status for status, _, _ in answers[True]].count(429) >= 1
    assert any(name == "retry-after" for name, _ in answers[True][-1][1])
    assert len(lean_answers) == 6


async def test_roles_held_to_stored_documents_are_refused_alike(demo_settings, lean_answers):
    # Sales may run stored documents only: its plain-text query is refused before it runs.
    settings = replace(demo_settings, persisted_only_roles=frozenset({"sales"}))
    headers = bearer(token_for_user(demo_settings, "sales@acme.example"))
    body = {"query": Q1, "variables": {"id": CUSTOMER}}
    answers = {}
    for lean_queries in (False, True):
        async with running_app(replace(settings, lean_queries=lean_queries)) as (_, http):
            answers[lean_queries] = [
                _comparable(await _send(http, body, {**headers, **({"accept": accept} if accept else {})}))
                for accept in ACCEPTS
            ]
    assert answers[True] == answers[False]
    assert {status for status, _, _ in answers[True]} <= {200, 403}
    assert all(b"PERSISTED_QUERY_REQUIRED" in content for _, _, content in answers[True])
    assert len(lean_answers) == len(ACCEPTS)


def _position_blanked(answer: tuple[int, list[tuple[str, str]], bytes]) -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer with its write position (header and cookie) spelled ``X/X``: each write reaches its own."""
    status, headers, content = answer
    return status, [(name, re.sub(r"[0-9A-F]+/[0-9A-F]+", "X/X", value)) for name, value in headers], content


@pytest.mark.parametrize("accept", ACCEPTS)
async def test_a_write_is_answered_alike_with_its_write_position(writes_settings, lean_answers, accept):
    headers = bearer(token_for_user(writes_settings, "admin@acme.example"))
    if accept is not None:
        headers["accept"] = accept
    body = {
        "query": CREATE_CUSTOMER,
        "variables": {
            "input": {"name": "Lean Path GmbH", "kind": "COMPANY", "segment": "SMALL_BUSINESS", "country": "DE"}
        },
    }
    # A write's answer tells its position only where replicas serve reads: the primary stands in
    # for one here (it never replays, so every read stays on the primary).
    settings = replace(writes_settings, replica_urls=(writes_settings.database_url,))
    answers = {}
    for lean_queries in (False, True):
        async with running_app(replace(settings, lean_queries=lean_queries)) as (_, http):
            answers[lean_queries] = _comparable(await _send(http, body, headers))
    assert _position_blanked(answers[True]) == _position_blanked(answers[False])
    status, response_headers, content = answers[True]
    assert status == 200 and b'"errors":[]' in content
    names = [name for name, _ in response_headers]
    assert "bizgraph-write-position" in names and "set-cookie" in names
    assert lean_answers == [1]
