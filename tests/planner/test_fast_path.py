"""The fast path answers planned queries with the very bytes the standard path gives."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLScalarType, get_named_type

from schema import build_schema
from schema.fastpath import PLANNED_ROOTS
from tests.support.auth import bearer, token_for_user
from tests.support.graphql import running_app

CORPUS = [
    "{ customers(first: 5, orderBy: [{field: NAME, direction: DESC}]) { totalCount"
    " pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }"
    " edges { __typename cursor node { __typename id name kind segment status creditLimit createdAt"
    " billingAddress { __typename city country } } } } }",
    "{ orders(first: 20, filter: {status: {in: [PLACED, FULFILLED]}}) { nodes { number status placedAt total"
    " customer { name segment } salesRep { fullName status }"
    " lines { nodes { lineNo quantity unitPrice product { sku active } } }"
    " invoice { number status amountDue payments { totalCount nodes { method amount paidAt } } } } } }",
    "query Q($n: Int, $skip: Boolean!) { a: employees(first: $n) { nodes { ...E } }"
    " b: departments(first: 3) { nodes { name head { ...E } children { totalCount } } } }"
    " fragment E on Employee { fullName @skip(if: $skip) hiredOn endedOn salary status manager { number }"
    " history(first: 2) { nodes { kind salary occurredAt } } }",
    "{ ordersAggregate(groupBy: {bucket: MONTH, dimensions: [STATUS, CUSTOMER_SEGMENT]}) {"
    " __typename bucket status customerSegment count"
    " sum { __typename total } avg { total tax } min { subtotal } max { total } } }",
    "{ orderLinesAggregate(groupBy: {dimensions: [PRODUCT, ORDER_STATUS]}) { product { sku name } orderStatus count"
    " sum { quantity lineTotal } avg { quantity } } }",
    "{ paymentsAggregate(groupBy: {bucket: QUARTER, dimensions: [METHOD]}) { bucket method count sum { amount } }"
    " employeesAggregate { count avg { salary } } }",
    "{ invoices(last: 7, orderBy: [{field: DUE_AT}]) { pageInfo { hasNextPage hasPreviousPage }"
    " edges { node { number status dueAt customer { country } lines { nodes { sku lineTotal taxRate } } } } } }",
    "{ products(first: 4, filter: {active: {eq: true}}) { nodes { sku unitPrice taxRate stockAvailable"
    " orderLines(first: 2) { totalCount nodes { order { number status } } } } } }",
]

ERRORS_AND_FALLBACKS = [
    '{ customer(id: "bm9wZQ==") { id } }',
    "{ customers(first: 500) { totalCount } }",
    "{ customers { nope } }",
    "{ __typename customers(first: 1) { totalCount } }",
    '{ node(id: "Q3VzdG9tZXI6MQ==") { id } }',
    "{ __schema { queryType { name } } }",
]


@pytest.fixture(scope="module")
async def standard_client(demo_settings, admin_headers):
    async with running_app(replace(demo_settings, fast_path=False), admin_headers) as (_, http):
        yield http


def _view(app):
    return next(route.endpoint for route in app.routes if getattr(route, "path", None) == "/graphql")


async def _both(client, standard_client, query, variables=None, headers=None):
    body = {"query": query, "variables": variables or {}}
    fast = await client.post("/graphql", json=body, headers=headers)
    slow = await standard_client.post("/graphql", json=body, headers=headers)
    assert fast.status_code == slow.status_code
    assert fast.content == slow.content, query
    return fast


@pytest.mark.parametrize("query", CORPUS)
async def test_corpus_is_answered_by_the_fast_path_with_identical_bytes(app, client, standard_client, query):
    view = _view(app)
    calls = []
    original = view.fast_path.execute

    async def spy(*args, **kwargs):
        result = await original(*args, **kwargs)
        calls.append(result is not None)
        return result

    view.fast_path.execute = spy
    try:
        response = await _both(client, standard_client, query, {"n": 4, "skip": False})
    finally:
        view.fast_path.execute = original
    assert calls == [True] and "errors" not in response.json()
    # The cost report travels with the fast answer too (and the bytes above include it).
    assert response.json()["extensions"]["cost"]["requested"] > 0


SCOPED_USERS = ["sales@acme.example", "manager@acme.example", "customer@acme.example", "analyst@globex.example"]


@pytest.mark.parametrize("email", SCOPED_USERS)
@pytest.mark.parametrize("query", CORPUS)
async def test_scoped_principals_get_identical_bytes_either_way(demo_settings, client, standard_client, email, query):
    """Row scopes change the SQL, withheld fields send the query the standard way:
    either way both apps answer a scoped principal with the same bytes."""
    headers = bearer(token_for_user(demo_settings, email))
    await _both(client, standard_client, query, {"n": 4, "skip": False}, headers=headers)


@pytest.mark.parametrize("query", ERRORS_AND_FALLBACKS)
async def test_errors_and_unplanned_fields_fall_back_to_the_same_answer(client, standard_client, query):
    await _both(client, standard_client, query)


def test_every_root_field_but_node_and_me_is_planned():
    query_type = build_schema()._schema.query_type
    assert set(query_type.fields) - {"node", "me"} == set(PLANNED_ROOTS)


# -- generated queries ------------------------------------------------------------

SCHEMA = build_schema()._schema


def _leaf(field_type) -> bool:
    return isinstance(get_named_type(field_type), (GraphQLScalarType, GraphQLEnumType))


def _selection(rng: random.Random, object_type: GraphQLObjectType, depth: int) -> str:
    parts = []
    for name, field in object_type.fields.items():
        named = get_named_type(field.type)
        alias = f"{name}_{rng.randint(0, 9)}: " if rng.random() < 0.1 else ""
        if _leaf(field.type):
            if rng.random() < 0.5:
                parts.append(alias + name)
        elif named.name.endswith("Connection") and depth < 3 and rng.random() < 0.3:
            parts.append(alias + name + _connection_args(rng, named) + " " + _connection(rng, named, depth + 1))
        elif (
            isinstance(named, GraphQLObjectType)
            and not named.name.endswith("Connection")
            and depth < 3
            and rng.random() < 0.3
        ):
            parts.append(alias + name + " " + _selection(rng, named, depth + 1))
    if rng.random() < 0.1:
        parts.append("__typename")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


def _connection_args(rng, connection_type) -> str:
    node = connection_type.name[: -len("Connection")]
    sort_field = SCHEMA.get_type(f"{node}SortField")
    args = [f"first: {rng.choice([1, 2, 5, 20])}"] if rng.random() < 0.8 else [f"last: {rng.choice([1, 3, 10])}"]
    if rng.random() < 0.5:
        args.append(
            f"orderBy: [{{field: {rng.choice(list(sort_field.values))}, direction: {rng.choice(['ASC', 'DESC'])}}}]"
        )
    return "(" + ", ".join(args) + ")"


def _connection(rng, connection_type, depth) -> str:
    node_type = get_named_type(connection_type.fields["nodes"].type)
    parts = []
    if rng.random() < 0.5:
        parts.append("totalCount")
    if rng.random() < 0.4:
        parts.append("pageInfo { hasNextPage hasPreviousPage startCursor endCursor }")
    if rng.random() < 0.6:
        parts.append("edges { cursor node " + _selection(rng, node_type, depth) + " }")
    else:
        parts.append("nodes " + _selection(rng, node_type, depth))
    return "{ " + " ".join(parts) + " }"


def _generated(seed: int) -> str:
    rng = random.Random(seed)
    roots = [name for name, (kind, _) in PLANNED_ROOTS.items() if kind == "connection"]
    picked = rng.sample(roots, rng.randint(1, 2))
    parts = []
    for name in picked:
        connection_type = get_named_type(SCHEMA.query_type.fields[name].type)
        parts.append(name + _connection_args(rng, connection_type) + " " + _connection(rng, connection_type, 1))
    return "{ " + " ".join(parts) + " }"


@pytest.mark.parametrize("seed", range(60))
async def test_generated_queries_give_identical_bytes(client, standard_client, seed):
    response = await _both(client, standard_client, _generated(seed))
    assert "errors" not in response.json(), response.json()


WITHHELD = [
    # analysts: contact and tax fields withheld everywhere; twice-selected fields carry both locations.
    (
        "analyst@acme.example",
        "{ customers(first: 3) { nodes { name email ...C billingAddress { city } } } }"
        " fragment C on Customer { email taxId }",
    ),
    # an employee reads its own salary only; errors inside nested lists keep execution order.
    (
        "employee@acme.example",
        "{ employees(first: 6) { nodes { fullName salary reports { nodes { salary nationalId } } } } }",
    ),
    # analysts total salaries, except in groups too small to hide a person.
    (
        "analyst@acme.example",
        "{ employeesAggregate(groupBy: {dimensions: [DEPARTMENT]}) { count sum { salary } department { name } } }",
    ),
    # two root fields, withheld fields in both.
    (
        "sales@acme.example",
        '{ a: customers(first: 2) { nodes { creditLimit } } b: customer(id: "$ID") { taxId name } }',
    ),
]


@pytest.mark.parametrize("email, query", WITHHELD)
async def test_withheld_fields_are_answered_by_the_fast_path_with_identical_errors(
    app, demo_settings, client, standard_client, email, query
):
    headers = bearer(token_for_user(demo_settings, email))
    if "$ID" in query:
        first = await client.post(
            "/graphql", json={"query": "{ customers(first: 1) { nodes { id } } }"}, headers=headers
        )
        query = query.replace("$ID", first.json()["data"]["customers"]["nodes"][0]["id"])
    view = _view(app)
    calls = []
    original = view.fast_path.execute

    async def spy(*args, **kwargs):
        answer = await original(*args, **kwargs)
        calls.append(answer is not None and bool(answer.errors))
        return answer

    view.fast_path.execute = spy
    try:
        response = await _both(client, standard_client, query, headers=headers)
    finally:
        view.fast_path.execute = original
    assert calls == [True]
    body = response.json()
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert not any(key.endswith("!") for key in str(body["data"]).split("'"))


# -- PostgreSQL's JSON passed on as it is ----------------------------------------------


@pytest.fixture
def verbatim_reads(monkeypatch):
    """The statements whose JSON went into the response unparsed."""
    from resolvers.reads import ReadService

    seen: list[str] = []
    original = ReadService.run_verbatim

    async def spy(self, planned):
        seen.append(planned.plan.sql)
        return await original(self, planned)

    monkeypatch.setattr(ReadService, "run_verbatim", spy)
    return seen


async def test_roots_with_nothing_withheld_go_out_as_postgresql_wrote_them(
    client, standard_client, verbatim_reads, demo_settings
):
    query = (
        "{ a: customers(first: 3) { nodes { name } } b: ordersAggregate { count }"
        " c: products(first: 2) { totalCount } }"
    )
    await _both(client, standard_client, query)
    # The two connections and the aggregate (its groups, or NULL past the cap) pass as text.
    assert len(verbatim_reads) == 3
    # A principal with fields withheld: parsed, its markers turned into errors.
    verbatim_reads.clear()
    analyst = bearer(token_for_user(demo_settings, "analyst@acme.example"))
    response = await _both(client, standard_client, "{ customers(first: 2) { nodes { name email } } }", headers=analyst)
    assert verbatim_reads == [] and response.json()["errors"]


async def test_keys_a_column_name_cannot_hold_still_give_identical_bytes(client, standard_client, verbatim_reads):
    """A response key past PostgreSQL's 63-byte identifiers is built the other way (not
    compact): parsed and re-encoded, never sent with its spaces."""
    alias = "k" * 70
    query = f"{{ customers(first: 2) {{ nodes {{ {alias}: name short: name }} }} }}"
    response = await _both(client, standard_client, query)
    assert verbatim_reads == []
    assert [list(node) for node in response.json()["data"]["customers"]["nodes"]] == [[alias, "short"]] * 2


async def test_stored_json_is_reencoded_not_sent_with_its_spaces(client, standard_client, verbatim_reads):
    # Event payloads are jsonb, which PostgreSQL writes as {"a": 1}.
    response = await _both(client, standard_client, "{ events(first: 3) { nodes { type payload } } }")
    assert verbatim_reads == [] and response.json()["data"]["events"]["nodes"]
    assert b'": ' not in response.content
