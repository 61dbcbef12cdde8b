"""GraphQL over HTTP as its spec says: which media type an answer is served as, and the status codes
and body shape that go with it.

- ``application/graphql-response+json`` when the client asks for it (also when it accepts both it
  and ``application/json`` equally); under it a request error (parse, validation, variable
  coercion, an operation that cannot be determined) is a 4xx with no ``data`` entry, while an
  operation that ran stays 200 with ``data``, field errors or not;
- ``application/json`` for legacy clients (no ``Accept``, ``*/*``, or asking for it first): 200 with
  ``data: null`` for request errors, exactly as before the new media type existed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.support.auth import bearer, token_for
from tests.support.graphql import error_codes, running_app

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json; charset=utf-8"

QUERY = "{ customers(first: 2) { totalCount } }"
MUTATION = 'mutation { createCustomer(input: {name: "Over GET", email: "get@example.com"}) { errors { code } } }'


def _view(app):
    return next(route.endpoint for route in app.routes if getattr(route, "path", None) == "/graphql")


async def _post(client: httpx.AsyncClient, body: Any, accept: str | None) -> httpx.Response:
    request = client.build_request("POST", "/graphql", json=body)
    if accept is None:
        request.headers.pop("Accept", None)
    else:
        request.headers["Accept"] = accept
    return await client.send(request)


# --- which media type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept, media_type",
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE_TYPE),
        # What the spec tells clients to send when they do not know the server.
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE_TYPE),
        (f"{GRAPHQL_RESPONSE}; charset=utf-8, {JSON}; charset=utf-8", GRAPHQL_RESPONSE_TYPE),
        # Both accepted equally, in either order: the spec's own media type.
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE_TYPE),
        (f"{GRAPHQL_RESPONSE}, */*;q=0.1", GRAPHQL_RESPONSE_TYPE),
        # Legacy clients: application/json, as before.
        (JSON, JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (None, JSON),
        ("", JSON),
        # Nothing bizgraph serves is acceptable: the spec lets the server disregard Accept.
        ("text/plain", JSON),
    ],
)
async def test_media_type_follows_accept(client, accept, media_type):
    response = await _post(client, {"query": QUERY}, accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.json()["data"]["customers"]["totalCount"] > 0


async def test_get_negotiates_too(client):
    response = await client.get("/graphql", params={"query": QUERY}, headers={"Accept": GRAPHQL_RESPONSE})
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_TYPE
    assert response.json()["data"]["customers"]["totalCount"] > 0


async def test_fast_path_answers_are_negotiated_like_the_rest(app, client):
    view = _view(app)
    answered: list[bool] = []
    original = view.fast_path.execute

    async def spy(*args, **kwargs):
        answer = await original(*args, **kwargs)
        answered.append(answer is not None)
        return answer

    view.fast_path.execute = spy
    try:
        modern = await _post(client, {"query": QUERY}, GRAPHQL_RESPONSE)
        legacy = await _post(client, {"query": QUERY}, JSON)
    finally:
        view.fast_path.execute = original
    assert answered == [True, True]
    assert (modern.status_code, modern.headers["content-type"]) == (200, GRAPHQL_RESPONSE_TYPE)
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, JSON)
    assert modern.content == legacy.content


# --- request errors: 4xx without data under the new type, 200 with data: null under the old ----

REQUEST_ERRORS = [
    pytest.param({"query": "{ customers { "}, "GRAPHQL_PARSE_FAILED", id="parse"),
    pytest.param({"query": "{ customers { nope } }"}, "GRAPHQL_VALIDATION_FAILED", id="validation"),
    pytest.param(
        {"query": "query($n: Int!) { customers(first: $n) { totalCount } }", "variables": {"n": "ten"}},
        "BAD_USER_INPUT",
        id="variable-coercion",
    ),
    pytest.param(
        {"query": "query($n: Int!) { customers(first: $n) { totalCount } }"}, "BAD_USER_INPUT", id="missing-variable"
    ),
]


@pytest.mark.parametrize("body, code", REQUEST_ERRORS)
async def test_request_errors_are_400_without_data_under_graphql_response_json(client, body, code):
    response = await _post(client, body, GRAPHQL_RESPONSE)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_TYPE
    answer = response.json()
    assert "data" not in answer
    assert error_codes(answer) == [code]


@pytest.mark.parametrize("body, code", REQUEST_ERRORS)
@pytest.mark.parametrize("accept", [JSON, "*/*", None])
async def test_request_errors_stay_200_with_null_data_under_application_json(client, body, code, accept):
    response = await _post(client, body, accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    answer = response.json()
    assert answer["data"] is None
    assert error_codes(answer) == [code]


async def test_request_errors_over_get_are_400_without_data(client):
    response = await client.get(
        "/graphql", params={"query": "{ customers { nope } }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 400
    assert "data" not in response.json()


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"query": "query A { __typename }", "operationName": "B"}, id="unknown-name"),
        pytest.param({"query": "{ __typename }", "operationName": {"obj": "ect"}}, id="object"),
        pytest.param({"query": "{ __typename }", "operationName": ["array"]}, id="array"),
        pytest.param({"query": "{ __typename }", "operationName": 0}, id="number"),
        pytest.param({"query": "{ __typename }", "operationName": False}, id="boolean"),
    ],
)
async def test_an_operation_that_cannot_be_determined_is_400(client, body, accept):
    response = await _post(client, body, accept)
    assert response.status_code == 400, response.text
    assert "data" not in response.text


async def test_a_named_operation_runs(client):
    body = {"query": "query A { __typename } query B { customers(first: 1) { totalCount } }", "operationName": "B"}
    response = await _post(client, body, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    assert response.json()["data"]["customers"]["totalCount"] > 0


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON, None])
async def test_mutations_over_get_are_405_and_change_nothing(client, accept):
    headers = {} if accept is None else {"Accept": accept}
    response = await client.get("/graphql", params={"query": MUTATION}, headers=headers)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert "data" not in response.text


async def test_a_request_refused_for_the_roles_is_403_without_data(demo_settings):
    """Outside the demo, introspection is for some roles only: the refusal comes before execution."""
    async with running_app(replace(demo_settings, demo=False)) as (application, http):
        headers = bearer(token_for(application, org_id=1, roles={"finance"}))
        for accept, status in ((GRAPHQL_RESPONSE, 403), (JSON, 200)):
            response = await http.post(
                "/graphql", json={"query": "{ __schema { queryType { name } } }"}, headers={**headers, "Accept": accept}
            )
            assert response.status_code == status, response.text
            assert ("data" in response.json()) is (accept == JSON)
            assert error_codes(response.json()) == ["FORBIDDEN"]


# --- an operation that ran: 200 with data, errors or not ----------------------------------------


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, JSON])
async def test_field_errors_during_execution_stay_200_with_data(client, accept):
    query = "{ bad: customers(first: 500) { totalCount } good: customers(first: 1) { totalCount } }"
    response = await _post(client, {"query": query}, accept)
    assert response.status_code == 200
    answer = response.json()
    assert answer["data"]["bad"] is None and answer["data"]["good"]["totalCount"] > 0
    assert error_codes(answer) == ["PAGE_SIZE_EXCEEDED"]


async def test_a_refused_lookup_stays_200_with_data(client):
    response = await _post(client, {"query": '{ customer(id: "not-an-id") { id } }'}, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    answer = response.json()
    assert answer["data"] == {"customer": None}
    assert error_codes(answer) == ["INVALID_ID"]
