"""One error contract on every route: JSON, a stable ``code``, the request id on
failure; never a 500 for bad input, never ``text/plain``; no "Did you mean" outside
the demo."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.auth import bearer, token_for_user
from tests.support.db import conninfo
from tests.support.graphql import running_app

FAST_PATH_QUERY = "{ customers(first: 2) { totalCount nodes { name } } }"
STANDARD_PATH_QUERY = "{ __typename customers(first: 2) { totalCount } }"


def assert_coded(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, body
    assert error["extensions"]["requestId"], body
    return body


def post_raw(client: httpx.AsyncClient, body: bytes, **headers: str) -> Any:
    return client.post("/graphql", content=body, headers={"content-type": "application/json", **headers})


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'"x"', id="a string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"42", id="a number"),
        pytest.param(b"[]", id="an empty batch"),
        pytest.param(b'[{"query": "{ __typename }"}]', id="a batch"),
        pytest.param(b"{not json", id="malformed"),
        pytest.param(b'{"query": "\xff\xfe"}', id="invalid UTF-8"),
        pytest.param(b"[" * 100_000, id="100k nested arrays"),
        pytest.param(b'{"variables": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001, id="deep variables"),
        pytest.param(b'{"query": "{ __typename }", "operationName": 7}', id="a numeric operationName"),
        pytest.param(b'{"query": 7}', id="a numeric query"),
        pytest.param(b'{"query": "{ __typename }", "variables": []}', id="variables as a list"),
    ],
)
async def test_a_malformed_body_is_400_bad_request(client, body):
    assert_coded(await post_raw(client, body), 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"query": '{ customers(filter: {name: {eq: "a\u0000"}}) { totalCount } }'}, id="NUL in the query"),
        pytest.param({"query": "query($s: String) { customers(filter: {name: {eq: $s}}) { totalCount } }",
                      "variables": {"s": "a\u0000b"}}, id="NUL in a variable"),
        pytest.param({"query": "{ __typename }", "variables": {"k\u0000": 1}}, id="NUL in a variable's name"),
        pytest.param({"query": "query Q { __typename }", "operationName": "Q\u0000"}, id="NUL in operationName"),
    ],
)  # fmt: skip
async def test_nul_anywhere_in_the_operation_is_400(client, payload):
    assert_coded(await client.post("/graphql", json=payload), 400, "BAD_REQUEST")


async def test_a_nul_escaped_in_a_graphql_string_is_bad_user_input_on_both_paths(client):
    fast = '{ customers(filter: {name: {eq: "a\\u0000"}}) { totalCount } }'
    assert_coded(await client.post("/graphql", json={"query": fast}), 400, "BAD_USER_INPUT")
    standard = "{ __typename " + fast[1:]
    response = await client.post("/graphql", json={"query": standard})
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("where", ["query", "variables", "operationName"])
async def test_a_lone_surrogate_is_400(client, where):
    escaped = "\\ud800"
    documents = {
        "query": f'{{"query": "{{ customer(id: \\"{escaped}\\") {{ id }} }}"}}',
        "variables": f'{{"query": "{{ __typename }}", "variables": {{"s": "{escaped}"}}}}',
        "operationName": f'{{"query": "query Q {{ __typename }}", "operationName": "Q{escaped}"}}',
    }
    assert_coded(await post_raw(client, documents[where].encode()), 400, "BAD_REQUEST")


async def test_nul_in_a_get_query_string_is_400(client):
    response = await client.get("/graphql", params={"query": '{ customer(id: "a\x00") { id } }'})
    assert_coded(response, 400, "BAD_REQUEST")


async def test_an_empty_get_query_from_a_browser_without_a_token_is_401_json(client):
    request = client.build_request("GET", "/graphql?query=", headers={"accept": "text/html"})
    request.headers.pop("authorization")
    response = await client.send(request)
    assert_coded(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_graphiql_page_is_still_html(client):
    request = client.build_request("GET", "/graphql", headers={"accept": "text/html"})
    request.headers.pop("authorization")
    response = await client.send(request)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "method, path, status, code",
    [
        ("GET", "/nowhere", 404, "NOT_FOUND"),
        ("POST", "/livez", 405, "METHOD_NOT_ALLOWED"),
        ("PUT", "/graphql", 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/graphiql-assets/none.js", 404, "NOT_FOUND"),
    ],
)
async def test_routing_refusals_are_json(client, method, path, status, code):
    assert_coded(await client.request(method, path), status, code)


async def test_a_form_body_is_400_json(client):
    response = await client.post("/graphql", content=b"query=x", headers={"content-type": "text/plain"})
    assert_coded(response, 400, "BAD_REQUEST")


async def test_livez_is_json(client):
    response = await client.get("/livez")
    assert response.status_code == 200 and response.json() == {"live": True}


# --- unexpected errors: masked, logged once, still JSON ------------------------------------


async def test_an_unexpected_exception_is_masked_with_the_request_id_and_logged_once(app, client, caplog):
    view = next(route.endpoint for route in app.routes if getattr(route, "path", None) == "/graphql")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals")

    original, view.fast_path.execute = view.fast_path.execute, broken
    try:
        with caplog.at_level(logging.ERROR):
            response = await client.post("/graphql", json={"query": FAST_PATH_QUERY})
    finally:
        view.fast_path.execute = original
    body = assert_coded(response, 500, "INTERNAL_SERVER_ERROR")
    assert "secret" not in response.text
    logged = [r for r in caplog.records if r.exc_info and "secret internals" in str(r.exc_info[1])]
    assert len(logged) == 1 and body["errors"][0]["extensions"]["requestId"] in logged[0].getMessage()


# --- statement timeouts ---------------------------------------------------------------------


@pytest.fixture(scope="module")
async def impatient(demo_settings, admin_headers) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose statements may run 300 ms."""
    async with running_app(replace(demo_settings, statement_timeout_ms=300), admin_headers) as (_app, http):
        yield http


@contextlib.asynccontextmanager
async def customers_locked(url) -> AsyncIterator[None]:
    """Every read of ``customers`` waits while the block runs (and so times out)."""
    async with await psycopg.AsyncConnection.connect(conninfo(url)) as conn:
        await conn.execute("BEGIN")
        await conn.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        yield
        await conn.execute("ROLLBACK")


async def test_a_statement_timeout_on_the_fast_path_has_its_own_code(impatient, seeded_url):
    async with customers_locked(seeded_url):
        response = await impatient.post("/graphql", json={"query": FAST_PATH_QUERY})
    body = assert_coded(response, 200, "STATEMENT_TIMEOUT")
    assert body["data"] is None


async def test_a_statement_timeout_on_the_standard_path_has_its_own_code(impatient, seeded_url):
    async with customers_locked(seeded_url):
        response = await impatient.post("/graphql", json={"query": STANDARD_PATH_QUERY})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "STATEMENT_TIMEOUT" and error["extensions"]["requestId"]
    assert error["path"] == ["customers"]


# --- no suggestions outside the demo --------------------------------------------------------


@pytest.fixture(scope="module")
async def strict(demo_settings) -> AsyncIterator[httpx.AsyncClient]:
    """Not the demo, as a sales user (who may not introspect)."""
    settings = replace(demo_settings, demo=False)
    headers = bearer(token_for_user(settings, "sales@acme.example"))
    async with running_app(settings, headers) as (_app, http):
        yield http


ALMOST_RIGHT = {
    "field": ("{ customers { totalCont } }", {}),
    "argument": ("{ customers(frist: 1) { totalCount } }", {}),
    "enum value": ("{ orders(filter: {status: {eq: PLACD}}) { totalCount } }", {}),
    "type name": ("{ node(id: \"x\") { ... on Custmer { id } } }", {}),
    "input field": ("{ orders(filter: {statu: {eq: PLACED}}) { totalCount } }", {}),
    "enum value in a variable": (
        "query($s: OrderStatus) { orders(filter: {status: {eq: $s}}) { totalCount } }", {"s": "PLACD"}),
    "input field in a variable": (
        "query($f: OrderFilter) { orders(filter: $f) { totalCount } }", {"f": {"statu": {"eq": "PLACED"}}}),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(ALMOST_RIGHT))
async def test_no_suggestions_outside_the_demo(strict, client, kind):
    query, variables = ALMOST_RIGHT[kind]
    strict_body = (await strict.post("/graphql", json={"query": query, "variables": variables})).json()
    assert strict_body["errors"] and not any("Did you mean" in e["message"] for e in strict_body["errors"])
    # The demo (``client``) still helps: the same mistake gets a suggestion there.
    demo_body = (await client.post("/graphql", json={"query": query, "variables": variables})).json()
    assert any("Did you mean" in e["message"] for e in demo_body["errors"]), demo_body


# --- anything at all: no 500, a code on every refusal ----------------------------------------

text = st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
graphql_ish = st.sampled_from([FAST_PATH_QUERY, STANDARD_PATH_QUERY, "{ me { email } }", "mutation { x }", ""]) | text
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {},
        optional={
            "query": graphql_ish | json_values,
            "variables": json_values,
            "operationName": text | json_values,
            "extensions": json_values,
        },
    ).map(lambda v: json.dumps(v).encode()),
)
content_types = st.sampled_from(
    ["application/json", "application/graphql-response+json", "text/plain", "multipart/form-data",
     "application/x-www-form-urlencoded", "application/json; charset=latin-1", ""]
) | text  # fmt: skip
accepts = st.sampled_from(["*/*", "text/html", "application/json", "application/graphql-response+json", ""]) | text
query_strings = st.dictionaries(st.sampled_from(["query", "variables", "operationName", "extensions", "x"]), text)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


def refusal_code(response: httpx.Response) -> str | None:
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("error"), str):  # OAuth 2.0 (RFC 6749 §5.2)
        return body["error"]
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors[0]["extensions"]["code"] if errors else None


EXAMPLES = {"count": 0}


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/graphql"),
        ("GET", "/graphql"),  # the GraphiQL page too, when a browser asks for HTML
        ("POST", "/oauth/token"),
        ("GET", "/livez"),
        ("GET", "/readyz"),
        ("GET", "/graphiql-assets/graphiql.min.js"),
    ],
)
# Derandomized: the same 200 examples every run, so CI is reproducible (raise max_examples locally to explore).
@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=bodies,
    content_type=content_types,
    accept=accepts,
    params=query_strings,
    authorization=st.sampled_from(["admin", "none", "garbage"]) | header_values.map(lambda v: f"Bearer {v}"),
)
async def test_no_request_gets_a_500_or_an_answer_without_a_code(
    client, method, path, body, content_type, accept, params, authorization
):
    EXAMPLES["count"] += 1
    request = client.build_request(method, path, params=params, content=body if method == "POST" else None)
    request.headers["content-type"] = content_type
    request.headers["accept"] = accept
    if authorization == "none":
        request.headers.pop("authorization")
    elif authorization != "admin":
        request.headers["authorization"] = authorization
    response = await client.send(request)
    assert response.status_code < 500 or response.status_code == 503, response.text
    media_type = response.headers.get("content-type", "")
    if media_type.startswith("text/html"):  # the GraphiQL page, asked for by a browser
        assert method == "GET" and path == "/graphql" and response.status_code == 200
        return
    if path.startswith("/graphiql-assets/") and response.status_code == 200:
        return  # the page's own script
    assert media_type.split(";")[0] in ("application/json", "application/graphql-response+json"), media_type
    if response.status_code >= 300:
        assert refusal_code(response), response.text
    body_json = response.json()
    for error in body_json.get("errors", []) if isinstance(body_json, dict) else []:
        assert error["extensions"]["code"], body_json


def test_the_property_test_ran_its_examples():
    # pytest runs this module's tests in order: guards against examples silently not running.
    assert EXAMPLES["count"] >= 5 * 100


async def test_concurrent_bad_requests_leave_the_pool_healthy(client):
    """Refusals take nothing from the pool: a good request still answers after many bad ones."""
    bad = [post_raw(client, b"null") for _ in range(50)]
    assert {r.status_code for r in await asyncio.gather(*bad)} == {400}
    assert (await client.post("/graphql", json={"query": FAST_PATH_QUERY})).status_code == 200
