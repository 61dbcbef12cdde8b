"""Persisted operations over HTTP: stored operations (the allow-list for roles in
BIZGRAPH_PERSISTED_ONLY_ROLES) and Apollo's automatic persisted queries for everyone else.

The app here serves the accounts database with ``customer`` as the persisted-only role
(a first-party storefront's users); its stored operations are pushed as
``bizgraph operations push`` would push them."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from starlette.routing import Route

import schema.limits.parsing as parsing
from resolvers.operations import store
from schema.limits.parsing import document_hash, documents_of
from schema.manifests import check_operations, read_manifest
from tests.support.auth import bearer, token_for_user
from tests.support.graphql import count_statements, running_app, sql

GRAPHQL_RESPONSE = "application/graphql-response+json"
MY_ORDERS = "query MyOrders { orders(first: 2) { totalCount } }"
CUSTOMERS = "query Customers { customers(first: 1) { totalCount } }"


def view_of(app):
    # The HTTP route (the socket's has the same path).
    [view] = [route.endpoint for route in app.routes if isinstance(route, Route) and route.path == "/graphql"]
    return view


def _fresh(query: str = "customers(first: 1) { totalCount }") -> str:
    """A document no test sent before (an unused alias), so its hash is unknown."""
    return f"query Fresh {{ a{uuid.uuid4().hex}: {query} }}"


def apq(document: str, *, with_query: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}}
    if with_query:
        body["query"] = document
    return body


@pytest.fixture(scope="module")
def persisted_settings(accounts_settings):
    return replace(accounts_settings, persisted_only_roles=frozenset({"customer"}))


@pytest.fixture(scope="module")
async def served(persisted_settings):
    async with running_app(persisted_settings) as pair:
        schema = view_of(pair[0]).schema._schema
        manifest = read_manifest({document_hash(MY_ORDERS): MY_ORDERS})
        store(persisted_settings, check_operations(schema, documents_of(schema), manifest))
        yield pair


@pytest.fixture(scope="module")
def tokens(persisted_settings) -> dict[str, dict[str, str]]:
    return {
        role: bearer(token_for_user(persisted_settings, f"{role}@acme.example"))
        for role in ("customer", "analyst", "admin")
    }


async def post(served, body: dict[str, Any], headers: dict[str, str], accept: str | None = None) -> httpx.Response:
    _, client = served
    extra = {"accept": accept} if accept else {}
    return await client.post("/graphql", json=body, headers={**headers, **extra})


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


# --- automatic persisted queries ---------------------------------------------------------


async def test_an_unknown_hash_is_not_found_then_the_query_registers_it(served, tokens):
    document = _fresh()
    first = await post(served, apq(document, with_query=False), tokens["admin"])
    assert (first.status_code, codes(first)) == (200, ["PERSISTED_QUERY_NOT_FOUND"])
    # The message Apollo's clients match on, besides the code; nothing ran.
    assert first.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert first.json()["data"] is None

    registering = await post(served, apq(document, with_query=True), tokens["admin"])
    assert registering.status_code == 200 and "errors" not in registering.json(), registering.text

    again = await post(served, apq(document, with_query=False), tokens["admin"])
    assert again.json() == registering.json()


async def test_not_found_is_404_without_data_under_graphql_response_json(served, tokens):
    response = await post(served, apq(_fresh(), with_query=False), tokens["admin"], accept=GRAPHQL_RESPONSE)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in response.json() and codes(response) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_hash_that_is_not_the_querys_registers_nothing(served, tokens):
    document, other = _fresh(), _fresh()
    body = {**apq(other, with_query=False), "query": document}
    response = await post(served, body, tokens["admin"], accept=GRAPHQL_RESPONSE)
    assert (response.status_code, codes(response)) == (400, ["PERSISTED_QUERY_HASH_MISMATCH"])
    for sent in (document, other):
        later = await post(served, apq(sent, with_query=False), tokens["admin"])
        assert codes(later) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_registered_document_is_neither_parsed_nor_validated_again(served, tokens, monkeypatch):
    document = _fresh()
    await post(served, apq(document, with_query=True), tokens["admin"])
    calls: list[str] = []
    real_parse, real_validate = parsing.parse, parsing.validate_document

    def counting_parse(*args, **kwargs):
        calls.append("parse")
        return real_parse(*args, **kwargs)

    def counting_validate(*args, **kwargs):
        calls.append("validate")
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(parsing, "parse", counting_parse)
    monkeypatch.setattr(parsing, "validate_document", counting_validate)
    response = await post(served, apq(document, with_query=False), tokens["admin"])
    assert "errors" not in response.json(), response.text
    assert calls == []


async def test_an_invalid_document_is_answered_with_its_errors_and_not_registered(served, tokens):
    document = f"query Broken {{ a{uuid.uuid4().hex}: customers(first: 1) {{ noSuchField }} }}"
    response = await post(served, apq(document, with_query=True), tokens["admin"])
    assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
    later = await post(served, apq(document, with_query=False), tokens["admin"])
    assert codes(later) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_apollo_sends_hashed_queries_over_get(served, tokens):
    _, client = served
    document = _fresh()
    await post(served, apq(document, with_query=True), tokens["admin"])
    params = {
        "operationName": "Fresh",
        "extensions": orjson.dumps(apq(document, with_query=False)["extensions"]).decode(),
    }
    response = await client.get("/graphql", params=params, headers=tokens["admin"])
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    posted = await post(served, {"query": document}, tokens["admin"])
    assert response.json() == posted.json()

    unknown = {"extensions": orjson.dumps(apq(_fresh(), with_query=False)["extensions"]).decode()}
    missing = await client.get("/graphql", params=unknown, headers=tokens["admin"])
    assert codes(missing) == ["PERSISTED_QUERY_NOT_FOUND"]


@pytest.mark.parametrize(
    "persisted_query",
    [
        {"version": 1, "sha256Hash": "not-hex"},
        {"version": 1, "sha256Hash": "ab" * 31},
        {"version": 2, "sha256Hash": "ab" * 32},
        "ab" * 32,
    ],
)
async def test_a_malformed_persisted_query_is_a_bad_request(served, tokens, persisted_query):
    response = await post(served, {"extensions": {"persistedQuery": persisted_query}}, tokens["admin"])
    assert (response.status_code, codes(response)) == (400, ["BAD_REQUEST"])


async def test_two_different_names_for_the_document_are_a_bad_request(served, tokens):
    body = {**apq(MY_ORDERS, with_query=False), "documentId": document_hash(CUSTOMERS)}
    response = await post(served, body, tokens["admin"])
    assert (response.status_code, codes(response)) == (400, ["BAD_REQUEST"])


async def test_registrations_stay_in_the_byte_bounded_cache_not_in_the_database(persisted_settings, tokens):
    small = replace(persisted_settings, document_cache_bytes=2_000)
    stored_before = sql(small.database_url, "SELECT count(*) FROM stored_operations")
    async with running_app(small) as pair:
        documents = [_fresh() for _ in range(40)]  # about 90 bytes each: 3,600 bytes in all
        for document in documents:
            response = await post(pair, apq(document, with_query=True), tokens["admin"])
            assert "errors" not in response.json(), response.text
        cache = documents_of(view_of(pair[0]).schema._schema).cache
        assert cache.size_bytes <= 2_000
        oldest = await post(pair, apq(documents[0], with_query=False), tokens["admin"])
        newest = await post(pair, apq(documents[-1], with_query=False), tokens["admin"])
    assert codes(oldest) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "errors" not in newest.json()
    assert sql(small.database_url, "SELECT count(*) FROM stored_operations") == stored_before


# --- the allow-list ----------------------------------------------------------------------


async def test_a_persisted_only_role_may_not_send_free_form_queries(served, tokens):
    app, _ = served
    with count_statements(app) as statements:
        response = await post(served, {"query": MY_ORDERS}, tokens["customer"], accept=GRAPHQL_RESPONSE)
    assert (response.status_code, codes(response)) == (403, ["PERSISTED_QUERY_REQUIRED"])
    assert "data" not in response.json() and statements == []


@pytest.mark.parametrize(
    "name",
    [
        lambda sha256: {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256}}},
        lambda sha256: {"documentId": sha256},
        lambda sha256: {"documentId": f"sha256:{sha256}"},
        lambda sha256: {"id": sha256.upper()},
    ],
    ids=["apq", "documentId", "prefixed documentId", "id"],
)
async def test_a_persisted_only_role_runs_stored_operations(served, tokens, name):
    response = await post(served, name(document_hash(MY_ORDERS)), tokens["customer"])
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    # The customer's own orders only: the stored document runs under the principal's scope.
    admin = await post(served, {"query": MY_ORDERS}, tokens["admin"])
    assert response.json()["data"]["orders"]["totalCount"] < admin.json()["data"]["orders"]["totalCount"]


async def test_a_stored_operation_sent_with_its_text_runs_for_a_persisted_only_role(served, tokens):
    response = await post(served, apq(MY_ORDERS, with_query=True), tokens["customer"])
    assert "errors" not in response.json(), response.text


async def test_documents_registered_by_others_are_not_stored_operations(served, tokens):
    document = _fresh("orders(first: 1) { totalCount }")
    await post(served, apq(document, with_query=True), tokens["admin"])
    hashed = await post(served, apq(document, with_query=False), tokens["customer"])
    assert codes(hashed) == ["PERSISTED_QUERY_NOT_FOUND"]
    sent_in_full = await post(served, apq(document, with_query=True), tokens["customer"])
    assert codes(sent_in_full) == ["PERSISTED_QUERY_REQUIRED"]


async def test_analysts_keep_free_form_queries(served, tokens):
    response = await post(served, {"query": CUSTOMERS}, tokens["analyst"])
    assert response.status_code == 200 and "errors" not in response.json(), response.text


async def test_a_stored_operation_is_read_from_the_database_once(persisted_settings, tokens):
    async with running_app(persisted_settings) as pair:
        app, _ = pair
        with count_statements(app) as first:
            await post(pair, {"documentId": document_hash(MY_ORDERS)}, tokens["customer"])
        with count_statements(app) as second:
            await post(pair, {"documentId": document_hash(MY_ORDERS)}, tokens["customer"])
    assert any("stored_operations" in statement for statement in first)
    assert not any("stored_operations" in statement for statement in second)
