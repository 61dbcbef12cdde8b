"""Limits checked before any work: body bytes, document bytes and tokens, depth, aliases,
directives, variables bytes and list lengths. Each refusal has its own code, names the limit
and its value, and runs no SQL. The shared app runs with the default limits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from starlette.routing import Route

from schema.limits.parsing import Documents, documents_of
from tests.support.graphql import count_statements, error_codes, gql, running_app

CUSTOMER_COUNT = "customers(first: 1) { totalCount }"


def documents(app) -> Documents:
    # The HTTP route (the socket's has the same path).
    [view] = [route.endpoint for route in app.routes if isinstance(route, Route) and route.path == "/graphql"]
    return documents_of(view.schema._schema)


async def refused(app, client, query: str, variables=None) -> dict:
    """The one error of a refused document, after checking that nothing ran."""
    with count_statements(app) as statements:
        body = await gql(client, query, variables)
    assert statements == [], statements
    assert body.get("data") is None, body
    [error] = body["errors"]
    return error


# A customer → orders → customer … chain, and the leaf field each step's type has.
CHAIN = [("customers(first: 1)", "totalCount"), ("edges", "cursor"), ("node", "id")]
CHAIN_STEP = [("orders(first: 1)", "totalCount"), ("edges", "cursor"), ("node", "id"), ("customer", "id")]


def nested(levels: int, leaf: str | None = None) -> str:
    """A chain of fields exactly ``levels`` deep (its leaf included), ``first: 1`` throughout."""
    steps = (CHAIN + CHAIN_STEP * levels)[: levels - 1]
    inner = leaf or steps[-1][1]
    for field, _ in reversed(steps):
        inner = f"{field} {{ {inner} }}"
    return f"{{ {inner} }}"


# --- request body bytes ------------------------------------------------------------------


class CountingBody:
    """A request body of ``size`` bytes, produced lazily; counts what was pulled from it."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.size, self.chunk, self.pulled = size, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.size:
            self.pulled += self.chunk
            yield b"x" * self.chunk


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_50_mb_body_is_refused_with_413_without_being_read(app, client, declared):
    body = CountingBody(50 * 1024 * 1024)
    headers = {"content-type": "application/json", "x-request-id": "big-body-1"}
    if declared:
        headers["content-length"] = str(body.size)
    with count_statements(app) as statements:
        response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "REQUEST_TOO_LARGE", "requestId": "big-body-1"}
    assert "1048576" in error["message"] and "BIZGRAPH_MAX_REQUEST_BYTES" in error["message"]
    # Declared: nothing is read. Streamed: reading stops at the first chunk past the limit.
    assert body.pulled <= (0 if declared else 1024 * 1024 + body.chunk)
    assert statements == []


async def test_a_body_within_the_limit_is_passed_on_whole(client):
    padding = "#" + "p" * 600_000 + "\n"  # a comment: bytes, not tokens
    response = await client.post("/graphql", json={"query": padding + "{ __typename }"})
    # The document limit, not the body limit, refuses it: the view got the whole body.
    assert response.status_code == 200
    assert error_codes(response.json()) == ["DOCUMENT_TOO_LARGE"]


async def test_an_oversized_token_request_is_refused_unread_as_invalid_request(client):
    body = CountingBody(50 * 1024 * 1024)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-request-id": "form-1"}
    response = await client.post("/oauth/token", content=body, headers={**headers, "content-length": str(body.size)})
    assert body.pulled == 0
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert (body["code"], body["requestId"]) == ("REQUEST_TOO_LARGE", "form-1")


# --- document bytes and tokens -----------------------------------------------------------


async def test_a_document_over_the_byte_limit_is_refused_before_parsing(app, client):
    error = await refused(app, client, "#" + "p" * 70_000 + "\n{ " + CUSTOMER_COUNT + " }")
    assert error["extensions"]["code"] == "DOCUMENT_TOO_LARGE"
    assert "65536" in error["message"] and "BIZGRAPH_MAX_DOCUMENT_BYTES" in error["message"]


async def test_a_document_over_the_token_limit_is_refused(app, client):
    error = await refused(app, client, "{ " + CUSTOMER_COUNT + " __typename" * 2_500 + " }")
    assert error["extensions"]["code"] == "TOO_MANY_TOKENS"
    assert "2000" in error["message"] and "BIZGRAPH_MAX_TOKENS" in error["message"]


@pytest.fixture(scope="module")
async def roomy(demo_settings, admin_headers):
    """An app whose byte limits let a 100k-token document reach the parser, with a small
    document cache."""
    settings = replace(
        demo_settings, max_request_bytes=8_000_000, max_document_bytes=8_000_000, document_cache_bytes=100_000
    )
    async with running_app(settings, admin_headers) as pair:
        yield pair


async def test_a_100k_token_document_is_refused_while_parsing_in_well_under_a_second(roomy):
    app, client = roomy
    query = "{" + " a" * 100_000 + " }"
    started = time.perf_counter()
    error = await refused(app, client, query)
    elapsed = time.perf_counter() - started
    assert error["extensions"]["code"] == "TOO_MANY_TOKENS"
    assert elapsed < 1.0, elapsed  # it took 9.8 s when the whole document was parsed


async def test_ten_distinct_large_documents_stay_within_the_cache_byte_bound(roomy):
    app, client = roomy
    cache = documents(app).cache
    texts = [f"#{n}{'p' * 30_000}\n{{ {CUSTOMER_COUNT} }}" for n in range(10)]
    for text in texts:
        body = await gql(client, text)
        assert body["data"]["customers"]["totalCount"] > 0, body
    assert cache.size_bytes <= cache.max_bytes == 100_000
    assert len(cache) <= 3
    # The newest is kept (parsed once), the oldest went.
    assert cache.get(texts[-1]) is not None and cache.get(texts[0]) is None


async def test_the_fast_path_and_the_standard_way_share_one_cache(app, client):
    cache = documents(app).cache
    fast = "{ customers(first: 2) { edges { node { id name } } } }  # shared cache"
    standard = "{ me { roles } }  # shared cache"
    for text in (fast, standard):
        assert cache.get(text) is None
        assert "errors" not in await gql(client, text)
        cached = cache.get(text)
        assert cached is not None
        # The fast path validated ``standard`` too before handing it on: both ways use the
        # same rules (every rule added in schema/build.py), so it was validated once.
        assert len(cached.errors) == 1


# --- depth, aliases, directives ----------------------------------------------------------


async def test_a_chain_deeper_than_the_limit_is_refused_and_the_limit_itself_runs(app, client):
    body = await gql(client, nested(15))
    assert "errors" not in body, body
    error = await refused(app, client, nested(16))
    assert error["extensions"]["code"] == "TOO_DEEP"
    assert "15" in error["message"] and "BIZGRAPH_MAX_DEPTH" in error["message"]


async def test_depth_counts_through_fragments_and_ignores_typename(app, client):
    deep_by_fragments = """
        query { customers(first: 1) { ...Page } }
        fragment Page on CustomerConnection { edges { node { ...Orders } } }
        fragment Orders on Customer { orders(first: 1) { edges { node { customer { ...Orders } } } } }
    """
    error = await refused(app, client, deep_by_fragments)
    assert error["extensions"]["code"] in {"TOO_DEEP", "GRAPHQL_VALIDATION_FAILED"}  # also a fragment cycle
    orders = "orders(first: 1) { edges { node { customer { %s } } } }"
    spread = """
        query { customers(first: 1) { ...Page } }
        fragment Page on CustomerConnection { edges { node { ...Orders } } }
        fragment Orders on Customer { %s }
    """
    deep = orders % (orders % (orders % "id"))  # 3 + 4 + 4 + 4 + 1 = 16 levels
    error = await refused(app, client, spread % deep)
    assert error["extensions"]["code"] == "TOO_DEEP"
    assert "errors" not in await gql(client, spread % (orders % (orders % "orders(first: 1) { totalCount }")))
    with_typename = nested(16, leaf="__typename")  # a 16th level of __typename only
    assert "errors" not in await gql(client, with_typename)


async def test_ten_thousand_root_aliases_are_refused_before_any_sql(app, client):
    query = "{ " + " ".join(f"a{n}: customers(first: 100) {{ totalCount }}" for n in range(10_000)) + " }"
    error = await refused(app, client, query)
    assert error["extensions"]["code"] in {"DOCUMENT_TOO_LARGE", "TOO_MANY_TOKENS", "TOO_MANY_ALIASES"}


async def test_more_aliases_than_the_limit_are_refused(app, client):
    assert "errors" not in await gql(client, "{ " + " ".join(f"a{n}: __typename" for n in range(50)) + " }")
    # Below the root, so that the root-field limit (also 50) has nothing to say.
    aliases = " ".join(f"a{n}: totalCount" for n in range(51))
    error = await refused(app, client, f"{{ customers(first: 1) {{ {aliases} }} }}")
    assert error["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert "50" in error["message"] and "BIZGRAPH_MAX_ALIASES" in error["message"]


async def test_more_directives_than_the_limit_are_refused(app, client):
    query = "{ customers(first: 1) { totalCount" + " @include(if: true)" * 51 + " } }"
    error = await refused(app, client, query)
    assert error["extensions"]["code"] == "TOO_MANY_DIRECTIVES"
    assert "50" in error["message"] and "BIZGRAPH_MAX_DIRECTIVES" in error["message"]


# --- variables and lists -----------------------------------------------------------------


async def test_variables_over_the_byte_limit_are_refused(app, client):
    query = "query($name: String) { customers(first: 1, filter: {name: {eq: $name}}) { totalCount } }"
    error = await refused(app, client, query, {"name": "n" * 300_000})
    assert error["extensions"]["code"] == "VARIABLES_TOO_LARGE"
    assert "262144" in error["message"] and "BIZGRAPH_MAX_VARIABLES_BYTES" in error["message"]


async def test_a_list_argument_longer_than_the_limit_is_refused_with_its_path(app, client):
    statuses = ", ".join(["ACTIVE"] * 501)
    error = await refused(app, client, f"{{ customers(filter: {{status: {{in: [{statuses}]}}}}) {{ totalCount }} }}")
    assert error["extensions"] == {"code": "LIST_TOO_LONG", "field": ["customers", "filter", "status", "in"]}
    assert "500" in error["message"] and "customers.filter.status.in" in error["message"]


async def test_a_list_in_the_variables_longer_than_the_limit_is_refused_with_its_path(app, client):
    query = "query($f: CustomerFilter) { customers(filter: $f) { totalCount } }"
    error = await refused(app, client, query, {"f": {"status": {"in": ["ACTIVE"] * 501}}})
    assert error["extensions"] == {"code": "LIST_TOO_LONG", "field": ["$f", "status", "in"]}
    body = await gql(client, query, {"f": {"status": {"in": ["ACTIVE"] * 500}}})
    assert "errors" not in body, body
