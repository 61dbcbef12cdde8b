"""Bad requests get a GraphQL error with a stable code; never a 500, never a stack trace."""

from __future__ import annotations

import base64

import pytest

from tests.support.graphql import error_codes, gql

OTHER_ORG_CUSTOMER = "(SELECT id FROM customers WHERE org_id = (SELECT max(id) FROM organizations) LIMIT 1)"
ORDER_1 = base64.b64encode(b"Order:1").decode()
MISSING_CUSTOMER = base64.b64encode(b"Customer:999999999").decode()
NOTHING_1 = base64.b64encode(b"Nothing:1").decode()


@pytest.mark.parametrize(
    "query, code",
    [
        ('{ customer(id: "not-an-id") { id } }', "INVALID_ID"),
        (f'{{ customer(id: "{ORDER_1}") {{ id }} }}', "INVALID_ID"),
        (f'{{ customer(id: "{MISSING_CUSTOMER}") {{ id }} }}', "NOT_FOUND"),
        (f'{{ node(id: "{NOTHING_1}") {{ id }} }}', "INVALID_ID"),
        ('{ customers(after: "garbage") { totalCount } }', "INVALID_CURSOR"),
        ("{ customers(first: 101) { totalCount } }", "PAGE_SIZE_EXCEEDED"),
        ("{ customers(first: -1) { totalCount } }", "INVALID_PAGINATION"),
        ("{ customers(first: 1, last: 1) { totalCount } }", "INVALID_PAGINATION"),
        ('{ customers(first: 1, before: "x") { totalCount } }', "INVALID_PAGINATION"),
        ('{ customers(filter: {creditLimit: {gte: "ten"}}) { totalCount } }', "GRAPHQL_VALIDATION_FAILED"),
        ('{ orders(filter: {placedAt: {gte: "2025-01-01T00:00:00"}}) { totalCount } }', "GRAPHQL_VALIDATION_FAILED"),
        ('{ orders(filter: {customerId: {eq: "bm9wZQ=="}}) { totalCount } }', "INVALID_ID"),
        ("{ customers { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ customers { ", "GRAPHQL_PARSE_FAILED"),
    ],
)
async def test_bad_requests_get_coded_errors(client, query, code):
    body = await gql(client, query)
    assert code in error_codes(body), body
    for error in body["errors"]:
        assert "Traceback" not in error["message"]
        assert "stacktrace" not in error.get("extensions", {})


async def test_bad_variable_values_are_bad_user_input(client):
    body = await gql(
        client, "query($v: Decimal) { customers(filter: {creditLimit: {gte: $v}}) { totalCount } }", {"v": 0.1}
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_a_cursor_from_another_ordering_is_refused(client):
    body = await gql(client, "{ customers(first: 1, orderBy: [{field: NAME}]) { pageInfo { endCursor } } }")
    cursor = body["data"]["customers"]["pageInfo"]["endCursor"]
    body = await gql(client, f'{{ customers(after: "{cursor}", orderBy: [{{field: CREDIT_LIMIT}}]) {{ totalCount }} }}')
    assert error_codes(body) == ["INVALID_CURSOR"]


async def test_one_failing_root_field_leaves_the_others(client):
    body = await gql(client, "{ bad: customers(first: 500) { totalCount } good: customers(first: 1) { totalCount } }")
    assert body["data"]["bad"] is None and body["data"]["good"]["totalCount"] > 0
    assert error_codes(body) == ["PAGE_SIZE_EXCEEDED"]


async def test_another_organizations_rows_do_not_exist(client, seeded_url):
    from tests.support.graphql import sql

    [(pk,)] = sql(seeded_url, f"SELECT {OTHER_ORG_CUSTOMER}")
    other = base64.b64encode(f"Customer:{pk}".encode()).decode()
    body = await gql(client, "query($id: ID!) { customer(id: $id) { id } node(id: $id) { id } }", {"id": other})
    assert body["data"] == {"customer": None, "node": None}
    assert error_codes(body) == ["NOT_FOUND", "NOT_FOUND"]
    body = await gql(
        client, "query($id: ID!) { orders(filter: {customerId: {eq: $id}}) { totalCount } }", {"id": other}
    )
    assert body["data"]["orders"]["totalCount"] == 0


async def test_get_serves_queries_but_never_mutations_and_bad_json_is_400(client):
    response = await client.get("/graphql", params={"query": "{ customers(first: 1) { totalCount } }"})
    assert response.status_code == 200 and response.json()["data"]["customers"]["totalCount"] > 0
    response = await client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
