"""Introspection is for the roles the configuration names, except in the demo."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support.auth import bearer, token_for
from tests.support.graphql import running_app

INTROSPECTION = "{ __schema { queryType { name } } }"
HIDDEN_IN_A_FRAGMENT = (
    "query { customers(first: 1) { ...F } } fragment F on CustomerConnection { __type: totalCount t: __typename }"
)
TYPE_LOOKUP = '{ customers(first: 1) { totalCount } t: __type(name: "Customer") { name } }'


@pytest.fixture(scope="module")
async def production(demo_settings):
    """The same database and keys, served outside demo mode."""
    async with running_app(replace(demo_settings, demo=False)) as pair:
        yield pair


async def _ask(http, app, roles, query):
    token = token_for(app, org_id=1, roles=roles, employee_id=1 if {"sales", "employee"} & set(roles) else None)
    response = await http.post("/graphql", json={"query": query}, headers=bearer(token))
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("roles", [{"admin"}, {"analyst"}, {"sales", "analyst"}])
async def test_configured_roles_may_introspect(production, roles):
    app, http = production
    for query in (INTROSPECTION, TYPE_LOOKUP):
        body = await _ask(http, app, roles, query)
        assert "errors" not in body, body


@pytest.mark.parametrize("roles", [{"finance"}, {"sales"}, {"hr"}, {"employee"}])
async def test_other_roles_may_not(production, roles):
    app, http = production
    for query in (INTROSPECTION, TYPE_LOOKUP):
        body = await _ask(http, app, roles, query)
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    # __typename and aliases that merely look like introspection are ordinary fields.
    body = await _ask(http, app, roles, HIDDEN_IN_A_FRAGMENT)
    assert "errors" not in body, body


async def test_the_roles_are_configurable(demo_settings):
    settings = replace(demo_settings, demo=False, introspection_roles=frozenset({"finance"}))
    async with running_app(settings) as (application, http):
        assert "errors" not in await _ask(http, application, {"finance"}, INTROSPECTION)
        admin = await _ask(http, application, {"admin"}, INTROSPECTION)
        assert admin["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_everyone_may_explore_the_demo(app, client):
    token = token_for(app, org_id=1, roles={"customer"}, customer_id=1)
    response = await client.post("/graphql", json={"query": INTROSPECTION}, headers=bearer(token))
    # Issue 10 adds the operation's cost to every answer (``__schema`` and ``queryType``: 2).
    assert response.json() == {
        "data": {"__schema": {"queryType": {"name": "Query"}}},
        "extensions": {"cost": {"requested": 2, "maximum": 250_000}},
    }
