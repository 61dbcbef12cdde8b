"""Given an analyst who sends ``X-Bizgraph-Plan``, then the answer carries ``extensions.plan``: each
root field's cost, its SQL with placeholders (never the values) and PostgreSQL's EXPLAIN of that
very statement with the very parameters, run in the operation's read-only transaction, on the
fast path and field by field alike; roles the policy does not allow, ANALYZE of a mutation and a
malformed header are refused before anything runs; without the header nothing changes."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event

from app.auth import policy
from tests.support.auth import token_for_user
from tests.support.graphql import running_app

QUERY = """
query Board($pattern: String!) {
  customers(first: 3, filter: { name: { ilike: $pattern } }) { totalCount edges { node { id name } } }
  ordersAggregate(groupBy: { dimensions: [STATUS] }) { status count }
  me { email }
}
"""
PATTERN = "%Systems-of-a-kind%"


@contextlib.contextmanager
def statements(app) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the app sends, with its parameters."""
    engine = app.state.database.engine.sync_engine
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _post(client, token: str, query: str, variables: dict | None = None, plan: str | None = None):
    headers = {"Authorization": f"Bearer {token}"}
    if plan is not None:
        headers["X-Bizgraph-Plan"] = plan
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def analyst(demo_settings) -> str:
    return token_for_user(demo_settings, "analyst@acme.example")


def test_the_policy_table_names_who_may_see_plans() -> None:
    assert policy.TOOLS["plan"] == {"admin", "analyst"}
    assert policy.TOOLS["plan_analyze"] <= policy.TOOLS["plan"]


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast path", "field by field"])
async def test_an_analyst_sees_each_root_fields_sql_cost_and_explain(demo_settings, analyst, fast_path) -> None:
    variables = {"pattern": PATTERN}
    async with running_app(replace(demo_settings, fast_path=fast_path)) as (app, client):
        plain = await _post(client, analyst, QUERY, variables)
        with statements(app) as seen:
            body = await _post(client, analyst, QUERY, variables, plan="1")
    assert "plan" not in plain["extensions"]
    assert body["data"] == plain["data"] and "errors" not in body
    plan = body["extensions"]["plan"]
    assert plan["mode"] == "EXPLAIN"
    customers, aggregate, me = plan["rootFields"]
    assert [f["field"] for f in plan["rootFields"]] == ["customers", "ordersAggregate", "me"]
    # Costs are the gate's: they add up to what the request was charged.
    assert customers["cost"] + aggregate["cost"] + me["cost"] == body["extensions"]["cost"]["requested"]
    assert me["note"] and "sql" not in me

    for field in (customers, aggregate):
        sql = field["sql"]
        assert "%(p" in sql and PATTERN not in sql and "Systems-of-a-kind" not in sql
        assert field["parameters"] == sorted(set(re.findall(r"%\((\w+)\)s", sql)))
        [root] = field["explain"]
        assert root["Plan"]["Node Type"] and "Actual Total Time" not in root["Plan"]
        # The EXPLAIN ran the very statement that answered, with the very parameters.
        ran = [params for statement, params in seen if statement == sql]
        explained = [params for statement, params in seen if statement == "EXPLAIN (FORMAT JSON) " + sql]
        assert ran and explained == ran[:1], (len(ran), len(explained))
    assert "customers" in customers["sql"] and "orders" in aggregate["sql"]


async def test_analyze_runs_the_statement_for_queries(app, client, analyst) -> None:
    body = await _post(client, analyst, QUERY, {"pattern": "%"}, plan="analyze")
    plan = body["extensions"]["plan"]
    assert plan["mode"] == "EXPLAIN ANALYZE"
    [root] = plan["rootFields"][0]["explain"]
    assert "Actual Total Time" in root["Plan"] and "Execution Time" in root


@pytest.mark.parametrize("role", ["sales", "finance", "hr", "customer"])
async def test_roles_the_policy_does_not_allow_are_refused_before_anything_runs(app, client, demo_settings, role):
    token = token_for_user(demo_settings, f"{role}@acme.example")
    with statements(app) as seen:
        body = await _post(client, token, QUERY, {"pattern": "%"}, plan="1")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN" and "query plans" in error["message"]
    assert seen == []


async def test_a_malformed_header_is_a_clear_error(app, client, analyst) -> None:
    body = await _post(client, analyst, "{ me { email } }", plan="verbose")
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "X-Bizgraph-Plan must be 1" in body["errors"][0]["message"]


MUTATION = """
mutation($id: ID!) { deactivateCustomer(input: { id: $id }) { customer { status } errors { code } } }
"""


async def test_a_mutation_is_never_analyzed_and_its_plan_names_no_sql(writes_app, writes_client, writes_settings):
    from tests.support.workflow import gid

    admin = token_for_user(writes_settings, "admin@acme.example")
    variables = {"id": gid("Customer", 1)}
    with statements(writes_app) as seen:
        refused = await _post(writes_client, admin, MUTATION, variables, plan="analyze")
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "only for queries" in refused["errors"][0]["message"] and seen == []

    # EXPLAIN without ANALYZE: the mutation runs as it would, and its plan says why it has no SQL.
    body = await _post(writes_client, admin, MUTATION, variables, plan="1")
    [field] = body["extensions"]["plan"]["rootFields"]
    assert field["field"] == "deactivateCustomer" and "sql" not in field and "command" in field["note"]
    assert field["cost"] == body["extensions"]["cost"]["requested"]
