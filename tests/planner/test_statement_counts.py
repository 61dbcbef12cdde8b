"""Every root field is one SQL statement, whatever the depth and the number of rows."""

from __future__ import annotations

import pytest

from tests.support.auth import token_for_user
from tests.support.graphql import count_statements, data, gql

DEEP = """
query($n: Int!) {
  customers(first: $n, orderBy: [{field: NAME}]) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id name accountManager { fullName department { name } }
      orders(first: 10, orderBy: [{field: PLACED_AT, direction: DESC}]) {
        totalCount
        edges { node {
          number total
          lines { nodes { quantity lineTotal product { name sku } } }
          invoice { number status payments { nodes { amount method } } }
        } }
      }
      invoices(first: 5) { nodes { number amountDue } }
    } }
  }
}
"""


@pytest.mark.parametrize(
    "query, roots",
    [
        (DEEP, 1),
        (
            "query($n: Int!) { a: customers(first: $n) { nodes { id } }"
            " b: orders(first: $n) { nodes { customer { name } } } }",
            2,
        ),
        (
            "query($n: Int!) { employees(first: $n) { nodes { manager { fullName }"
            " reports { totalCount nodes { fullName } }"
            " history { nodes { kind } } managedCustomers(first: 3) { nodes { name } } } } }",
            1,
        ),
        (
            "query($n: Int!) { departments(first: $n) { nodes { parent { name } children { nodes { name } }"
            " head { fullName } employees(first: 5) { totalCount nodes { fullName } } } } }",
            1,
        ),
        (
            "query($n: Int!) { products(first: $n) { nodes { name"
            " orderLines(first: 3) { nodes { order { number } } } } }"
            " payments(first: $n) { nodes { amount"
            " invoice { order { customer { name } } lines { nodes { sku } } } } } }",
            2,
        ),
        (
            "query($n: Int!) { orders(first: $n) { nodes { availableTransitions"
            " history { nodes { action entityId } } } }"
            " invoices(first: $n) { nodes { availableTransitions history { totalCount } } } }",
            2,
        ),
        (
            "query($n: Int!) { customers(first: $n) { nodes { availableTransitions paymentTermsDays"
            " history { nodes { action } } } }"
            " employees(first: $n) { nodes { availableTransitions } }"
            " products(first: $n) { nodes { history { totalCount } } } }",
            3,
        ),
        (
            "query($n: Int!) { auditLog(first: $n) { nodes { action changes entityId } }"
            " events(first: $n) { edges { cursor node { type entityId payload } } } }",
            2,
        ),
        (
            "query($n: Int!) { emailDeliveries(first: $n) { nodes { kind status subject entityId"
            " event { type payload } attemptLog { totalCount nodes { outcome smtpCode latencyMs"
            " delivery { recipient } } } } }"
            " customers(first: $n) { nodes { emailOptOuts } } }",
            2,
        ),
    ],
)
async def test_statement_count_does_not_grow_with_rows(app, client, query, roots):
    counts = {}
    sizes = {}
    for n in (10, 100):
        with count_statements(app) as statements:
            result = await data(client, query, {"n": n})
        counts[n] = len(statements)
        sizes[n] = len(str(result))
    assert counts[10] == counts[100] == roots
    assert sizes[100] > sizes[10]  # the bigger page really returned more rows


async def test_total_count_is_computed_only_when_selected(app, client):
    with count_statements(app) as statements:
        await data(client, "{ customers(first: 5) { nodes { id } } }")
    assert "count(*)" not in statements[0]
    with count_statements(app) as statements:
        await data(client, "{ customers(first: 5) { totalCount nodes { id } } }")
    assert "count(*)" in statements[0]


@pytest.mark.parametrize("email", ["sales@acme.example", "manager@acme.example", "customer@acme.example"])
@pytest.mark.parametrize(
    "query",
    [
        DEEP,
        "query($n: Int!) { employees(first: $n) { nodes { fullName salary reports { totalCount nodes { salary } }"
        " history { nodes { kind salary } } } } }",
    ],
)
async def test_row_scopes_and_withheld_fields_cost_no_extra_statement(app, client, demo_settings, email, query):
    """Scopes are conditions inside the one statement (the management chain is a
    recursive subquery), and withheld fields are CASE expressions in it."""
    token = token_for_user(demo_settings, email)
    counts = {}
    for n in (10, 100):
        with count_statements(app) as statements:
            await gql(client, query, {"n": n}, token=token)
        counts[n] = len(statements)
    assert counts[10] == counts[100] == 1
