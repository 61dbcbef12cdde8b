"""Static cost: computed from the selection and its list sizes before any SQL, refused above
BIZGRAPH_MAX_COST with COST_EXCEEDED, reported in ``extensions.cost`` on every answer of an
operation that ran (the fast path and the standard way alike). The weights come from the
``@cost``/``@listSize`` directives in the exported SDL."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.config import Settings
from schema.cost import calculator
from tests.support.graphql import count_statements, error_codes, running_app

# bench/workloads.py's Q2: 100 customers × 10 orders × lines (default page) × product, invoice.
Q2 = (
    "{ customers(first: 100) { edges { node { id name"
    " orders(first: 10, orderBy: [{field: PLACED_AT, direction: DESC}]) { edges { node {"
    " number total placedAt lines { edges { node { quantity lineTotal product { name } } } }"
    " invoice { status } } } } } } } }"
)
# customers 1 + 100 × (customer 1 + orders 1 + 10 × (order 1 + lines (1 + 50 × (line 1 + product 1)) + invoice 1))
Q2_COST = 1 + 100 * (1 + 1 + 10 * (1 + (1 + 50 * 2) + 1))
# Three nested pages of 100: a million lines.
TOO_COSTLY = (
    "{ customers(first: 100) { nodes { orders(first: 100) { nodes {"
    " lines(first: 100) { nodes { product { name } } } } } } } }"
)
TOO_COSTLY_COST = 1 + 100 * (1 + 1 + 100 * (1 + 1 + 100 * 2))


async def post(client, query: str, variables=None, **kwargs):
    return await client.post("/graphql", json={"query": query, "variables": variables or {}}, **kwargs)


def test_the_default_maximum_fits_the_benchmark_with_room():
    assert Q2_COST == 103_201
    assert Q2_COST * 2 < Settings.from_env({}).max_cost < TOO_COSTLY_COST


async def test_an_answer_reports_its_cost(client):
    response = await post(client, Q2)
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    assert len(body["data"]["customers"]["edges"]) > 0
    assert body["extensions"] == {"cost": {"requested": Q2_COST, "maximum": 250_000}}


async def test_page_sizes_come_from_arguments_variables_defaults_and_the_cap(client):
    async def cost(query: str, variables=None) -> int:
        body = (await post(client, query, variables)).json()
        return body["extensions"]["cost"]["requested"]

    # A connection costs 1; each node 1 (edges and page info weigh nothing); scalars 0.
    assert (
        await cost("{ customers(first: 3) { totalCount pageInfo { hasNextPage } edges { cursor node { id } } } }") == 4
    )
    assert await cost("query($n: Int) { customers(first: $n) { nodes { id } } }", {"n": 7}) == 8
    assert await cost("{ products(last: 2) { nodes { id } } }") == 3
    # No first/last: the default page size (50).
    assert await cost("{ customers { nodes { id } } }") == 51
    # Aggregates count their group cap (1000 groups, each with an object of sums).
    assert await cost("{ ordersAggregate { count sum { total } } }") == 2000
    # Fragments and inline fragments count where they are spread.
    assert await cost("{ customers(first: 2) { ...C } } fragment C on CustomerConnection { nodes { id } }") == 3


async def test_mutations_report_their_cost_too(client):
    # Refused by its own rules (a blank name): it ran, changed nothing, and was priced.
    body = (
        await post(
            client,
            'mutation { createCustomer(input: {name: "", kind: COMPANY, segment: ENTERPRISE, country: "CH"})'
            " { customer { id } errors { code } } }",
        )
    ).json()
    assert body["data"]["createCustomer"]["customer"] is None
    assert body["data"]["createCustomer"]["errors"]
    # The payload 1, the customer 1, the errors list (no declared size: one item) 1.
    assert body["extensions"]["cost"] == {"requested": 3, "maximum": 250_000}


async def test_an_operation_above_the_maximum_is_refused_before_any_sql(app, client):
    with count_statements(app) as statements:
        response = await post(client, TOO_COSTLY)
    assert statements == []
    body = response.json()
    assert body["data"] is None
    assert error_codes(body) == ["COST_EXCEEDED"]
    message = body["errors"][0]["message"]
    assert f"{TOO_COSTLY_COST}" in message and "250000" in message and "BIZGRAPH_MAX_COST" in message
    assert body["extensions"] == {"cost": {"requested": TOO_COSTLY_COST, "maximum": 250_000}}
    # GraphQL over HTTP: under the new media type, a refused request is a 4xx without data.
    strict = await post(client, TOO_COSTLY, headers={"accept": "application/graphql-response+json"})
    assert strict.status_code == 400
    assert "data" not in strict.json()


async def test_the_maximum_is_configurable(demo_settings, admin_headers):
    async with running_app(replace(demo_settings, max_cost=10), admin_headers) as (_, http):
        assert "errors" not in (await post(http, "{ customers(first: 9) { nodes { id } } }")).json()
        body = (await post(http, "{ customers(first: 10) { nodes { id } } }")).json()
        assert error_codes(body) == ["COST_EXCEEDED"]
        assert body["extensions"]["cost"] == {"requested": 11, "maximum": 10}


async def test_fragments_spread_many_times_are_priced_once(client, monkeypatch):
    # Each fragment spreads the next twice: 2**12 = 4096 spreads of the last one, whose
    # cost is 2 (a connection of one node). Walking every spread would visit 8191 fragments.
    levels = 12
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on Query {{ customers(first: 1) {{ nodes {{ id }} }} }}")
    document = "{ ...F0 } " + " ".join(fragments)
    walked: list[str] = []
    original = calculator._Walk.fragment

    def counting(self, name, sized):
        walked.append(name)
        return original(self, name, sized)

    monkeypatch.setattr(calculator._Walk, "fragment", counting)
    body = (await post(client, document)).json()
    assert body["extensions"]["cost"]["requested"] == 2 * 2**levels
    # Each spread is looked up once (2 per fragment, 1 at the root), each fragment walked once.
    assert len(walked) == 2 * levels + 1


async def test_the_sdl_declares_the_weights():
    from schema import build_schema

    sdl = build_schema().as_str()
    assert "directive @cost(weight: String!)" in sdl
    assert "directive @listSize(" in sdl
    assert (
        '@listSize(assumedSize: 50, slicingArguments: ["first", "last"], sizedFields: ["edges", "nodes"],'
        " requireOneSlicingArgument: false)" in sdl
    )
    assert 'type CustomerEdge @cost(weight: "0")' in sdl
    assert 'type PageInfo @cost(weight: "0")' in sdl


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BIZGRAPH_MAX_COST": "0"}, "BIZGRAPH_MAX_COST must be at least 1"),
        (
            {"BIZGRAPH_MAX_COST": "1000", "BIZGRAPH_RATE_LIMIT_COST_PER_MINUTE": "999"},
            "BIZGRAPH_RATE_LIMIT_COST_PER_MINUTE must be 0 (off) or at least BIZGRAPH_MAX_COST",
        ),
        ({"BIZGRAPH_REDIS_URL": "http://127.0.0.1:6379"}, "BIZGRAPH_REDIS_URL must be a redis://"),
    ],
)
def test_bad_settings_fail_fast(env, message):
    from app.errors import ConfigError

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)
