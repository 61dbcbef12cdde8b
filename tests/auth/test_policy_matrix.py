"""The policy matrix: every role × every row scope and every sensitive field, over HTTP.

Generated from the policy table itself. What each scope *should* contain is
computed here in Python from the raw tables (read as the owner, past row-level
security), independently of the SQL the planner writes; the API's answers must
match it exactly — the rows that exist, the values that are readable, and a
FORBIDDEN error at exactly the paths that are withheld.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from app.auth import policy
from app.auth.principal import ROLES
from resolvers.catalog import CATALOG
from resolvers.planner.catalog import Column, Embedded
from resolvers.planner.ids import encode_id
from tests.support.auth import token_for
from tests.support.graphql import gql, sql
from tests.support.webhook_rows import webhooks_of_both_organizations

ORG = 1  # acme; tenant isolation has its own suite
ROOT_LISTS = {
    "Customer": "customers",
    "Product": "products",
    "Order": "orders",
    "Invoice": "invoices",
    "Payment": "payments",
    "Employee": "employees",
    "Department": "departments",
}
SINGLE_ROLES = sorted(ROLES)
# Roles add up: a few combinations where one role widens what another may read.
COMBINATIONS = [("manager", "employee"), ("sales", "analyst"), ("hr", "analyst")]


@dataclass
class World:
    """The demo organization's rows, and the principals' anchors in them."""

    ids: dict[str, set[int]] = field(default_factory=dict)
    parent: dict[str, dict[int, int | None]] = field(default_factory=dict)  # type → row → the row it hangs off
    manager_of: dict[int, int | None] = field(default_factory=dict)
    account_manager: dict[int, int | None] = field(default_factory=dict)
    sales_rep: dict[int, int | None] = field(default_factory=dict)  # order → its sales rep
    subject_type: dict[str, dict[int, str]] = field(default_factory=dict)  # audit entry / event → its entity's type
    employee: dict[str, int] = field(default_factory=dict)  # role → anchor employee
    customer: int = 0

    def reports_of(self, boss: int) -> set[int]:
        found: set[int] = set()
        frontier = {boss}
        while frontier:
            frontier = {e for e, m in self.manager_of.items() if m in frontier} - found
            found |= frontier
        return found

    def rows(self, type_name: str, scope: str | None, principal: dict[str, Any]) -> set[int]:
        """The rows of ``scope`` for this principal, from first principles."""
        if scope is None:
            return set()
        if scope == policy.ALL:
            return set(self.ids[type_name])
        if scope in (policy.OWN_ACCOUNTS, policy.MY_CUSTOMER):
            if scope == policy.OWN_ACCOUNTS:
                me = principal.get("employee_id")
                customers = {c for c, am in self.account_manager.items() if me is not None and am == me}
            else:
                customers = {principal["customer_id"]} if principal.get("customer_id") else set()
            return self._ledger(type_name, customers)
        if scope in RECORD_TYPES:
            return {pk for pk, kind in self.subject_type[type_name].items() if kind in RECORD_TYPES[scope]}
        me = principal.get("employee_id")
        if me is None:
            return set()
        if scope == policy.TEAM_SALES:
            team = self.reports_of(me)
            orders = {o for o, rep in self.sales_rep.items() if rep in team}
            if type_name == "Order":
                return orders
            if type_name == "Customer":
                return {c for o, c in self.parent["Order"].items() if o in orders}
            return {line for line, o in self.parent["OrderLine"].items() if o in orders}
        people = self.reports_of(me) if scope == policy.MY_REPORTS else {me}
        if type_name == "Employee":
            return people
        return {e for e, who in self.parent["EmploymentEvent"].items() if who in people}

    def _ledger(self, type_name: str, customers: set[int]) -> set[int]:
        if type_name == "Customer":
            return customers
        orders = {o for o, c in self.parent["Order"].items() if c in customers}
        invoices = {i for i, c in self.parent["Invoice"].items() if c in customers}
        return {
            "Order": orders,
            "Invoice": invoices,
            "OrderLine": {line for line, o in self.parent["OrderLine"].items() if o in orders},
            "InvoiceLine": {line for line, i in self.parent["InvoiceLine"].items() if i in invoices},
            "Payment": {p for p, i in self.parent["Payment"].items() if i in invoices},
        }[type_name]


RECORD_TYPES = {
    policy.LEDGER_RECORDS: {"Customer", "Product", "Order", "Invoice", "Payment"},
    policy.PEOPLE_RECORDS: {"Employee", "Department"},
}

PARENT_COLUMNS = {
    "Order": "customer_id",
    "Invoice": "customer_id",
    "OrderLine": "order_id",
    "InvoiceLine": "invoice_id",
    "Payment": "invoice_id",
    "EmploymentEvent": "employee_id",
}


@pytest.fixture(scope="module")
def webhook_rows(seeded_url):
    """The seed registers no webhooks: rows of both organizations for this module."""
    with webhooks_of_both_organizations(seeded_url):
        yield


@pytest.fixture(scope="module")
def world(seeded_url, webhook_rows) -> World:
    w = World()
    for type_name, entity in CATALOG.entities.items():
        w.ids[type_name] = {pk for (pk,) in sql(seeded_url, f"SELECT id FROM {entity.table} WHERE org_id = %s", ORG)}
    for type_name, column in PARENT_COLUMNS.items():
        table = CATALOG[type_name].table
        w.parent[type_name] = dict(sql(seeded_url, f"SELECT id, {column} FROM {table} WHERE org_id = %s", ORG))
    w.manager_of = dict(sql(seeded_url, "SELECT id, manager_id FROM employees WHERE org_id = %s", ORG))
    w.account_manager = dict(sql(seeded_url, "SELECT id, account_manager_id FROM customers WHERE org_id = %s", ORG))
    w.sales_rep = dict(sql(seeded_url, "SELECT id, sales_rep_id FROM orders WHERE org_id = %s", ORG))
    for type_name in ("AuditEntry", "IntegrationEvent"):
        table = CATALOG[type_name].table
        w.subject_type[type_name] = dict(sql(seeded_url, f"SELECT id, entity_type FROM {table} WHERE org_id = %s", ORG))
    # sales: the account manager with the most customers.
    managed: dict[int, int] = {}
    for am in w.account_manager.values():
        if am is not None:
            managed[am] = managed.get(am, 0) + 1
    w.employee["sales"] = max(managed, key=lambda e: (managed[e], -e))
    # manager: someone below the top whose reports go at least two levels deep.
    top = {e for e, m in w.manager_of.items() if m is None}
    deep = [e for e in w.manager_of if e not in top and any(w.manager_of.get(r) != e for r in w.reports_of(e))]
    w.employee["manager"] = max(deep, key=lambda e: (len(w.reports_of(e)), -e))
    # employee: someone with no reports.
    w.employee["employee"] = min(e for e in w.manager_of if not w.reports_of(e))
    orders_of: dict[int, int] = {}
    for c in w.parent["Order"].values():
        orders_of[c] = orders_of.get(c, 0) + 1
    w.customer = max(orders_of, key=lambda c: (orders_of[c], -c))
    assert len(w.reports_of(w.employee["manager"])) >= 3
    team = w.reports_of(w.employee["manager"])
    assert any(rep in team for rep in w.sales_rep.values()), "the manager's team must have sold something"
    return w


def _principal(world: World, roles: tuple[str, ...]) -> dict[str, Any]:
    principal: dict[str, Any] = {"roles": set(roles)}
    for role in ("manager", "sales", "employee"):  # the first personal role anchors the employee
        if role in roles:
            principal["employee_id"] = world.employee[role]
            break
    if "customer" in roles:
        principal["customer_id"] = world.customer
    return principal


def _token(app, principal: dict[str, Any]) -> str:
    return token_for(
        app,
        org_id=ORG,
        roles=principal["roles"],
        employee_id=principal.get("employee_id"),
        customer_id=principal.get("customer_id"),
    )


def _expected_rows(world: World, table: Any, type_name: str, principal: dict[str, Any]) -> set[int]:
    rows: set[int] = set()
    for role in principal["roles"]:
        rows |= world.rows(type_name, table.get(type_name, {}).get(role), principal)
    return rows


def _pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


async def _all_pages(client, token: str, root: str, selection: str) -> tuple[int, list[dict[str, Any]], list]:
    """Every node of a root list (pages of 100), its totalCount, and all errors."""
    nodes: list[dict[str, Any]] = []
    errors: list = []
    after = None
    total = None
    while True:
        body = await gql(
            client,
            f"query($after: String) {{ {root}(first: 100, after: $after) {{ totalCount"
            f" pageInfo {{ hasNextPage endCursor }} nodes {{ {selection} }} }} }}",
            {"after": after},
            token=token,
        )
        for error in body.get("errors", []):
            # Re-base each path on the whole list so paths stay unique across pages.
            path = list(error["path"])
            if len(path) > 2 and isinstance(path[2], int):
                path[2] += len(nodes)
            errors.append((path, error["extensions"]["code"]))
        page = body["data"][root]
        total = page["totalCount"] if total is None else total
        nodes.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return total, nodes, errors
        after = page["pageInfo"]["endCursor"]


ALL_PRINCIPALS = [(role,) for role in SINGLE_ROLES] + COMBINATIONS


@pytest.mark.parametrize("roles", ALL_PRINCIPALS, ids="+".join)
@pytest.mark.parametrize("type_name", sorted(ROOT_LISTS))
async def test_root_lists_hold_exactly_the_rows_in_scope(app, client, world, roles, type_name):
    principal = _principal(world, roles)
    expected = _expected_rows(world, policy.ROWS, type_name, principal)
    total, nodes, errors = await _all_pages(client, _token(app, principal), ROOT_LISTS[type_name], "id")
    assert errors == []
    assert {_pk(n["id"]) for n in nodes} == expected
    assert total == len(expected)


@pytest.mark.parametrize("roles", ALL_PRINCIPALS, ids="+".join)
@pytest.mark.parametrize("type_name", sorted(CATALOG.entities))
async def test_node_finds_rows_in_scope_and_nothing_else(app, client, world, roles, type_name):
    principal = _principal(world, roles)
    inside = sorted(_expected_rows(world, policy.ROWS, type_name, principal))[:25]
    outside = sorted(world.ids[type_name] - set(_expected_rows(world, policy.ROWS, type_name, principal)))[:25]
    wanted = inside + outside
    if not wanted:
        pytest.skip(f"no {type_name} rows in the demo organization")
    query = "{ " + " ".join(f'n{pk}: node(id: "{encode_id(type_name, pk)}") {{ id }}' for pk in wanted) + " }"
    body = await gql(client, query, token=_token(app, principal))
    found = {int(key[1:]) for key, value in body["data"].items() if value is not None}
    assert found == set(inside)
    missing = {error["path"][0] for error in body.get("errors", [])}
    assert missing == {f"n{pk}" for pk in outside}
    assert {error["extensions"]["code"] for error in body.get("errors", [])} <= {"NOT_FOUND"}


def _sensitive_fields() -> list[tuple[str, str]]:
    return [(type_name, name) for type_name, fields in policy.FIELDS.items() for name in fields]


def _readable_rows(world: World, type_name: str, name: str, principal: dict[str, Any]) -> set[int]:
    rule = policy.FIELDS[type_name][name]
    rows: set[int] = set()
    for role in principal["roles"]:
        scope = rule.get(role)
        if scope == policy.SAME_ROWS:
            scope = policy.ROWS[type_name].get(role)
        rows |= world.rows(type_name, scope, principal)
    return rows


def _stored_values(seeded_url, type_name: str, name: str) -> dict[int, Any]:
    entity = CATALOG[type_name]
    spec = entity.fields[name]
    column = spec.fields["city"] if isinstance(spec, Embedded) else spec
    assert isinstance(column, Column)
    rows = sql(seeded_url, f"SELECT t.id, {column.render('t')} FROM {entity.table} t WHERE t.org_id = %s", ORG)
    return {
        pk: (str(value) if isinstance(value, Decimal) or hasattr(value, "isoformat") else value) for pk, value in rows
    }


@pytest.mark.parametrize("roles", ALL_PRINCIPALS, ids="+".join)
@pytest.mark.parametrize("type_name, name", _sensitive_fields())
async def test_sensitive_fields_are_read_exactly_where_the_table_allows(
    app, client, seeded_url, world, roles, type_name, name
):
    principal = _principal(world, roles)
    token = _token(app, principal)
    selection = f"{name} {{ city }}" if isinstance(CATALOG[type_name].fields[name], Embedded) else name
    if type_name in ROOT_LISTS:
        _, nodes, errors = await _all_pages(client, token, ROOT_LISTS[type_name], f"id {selection}")
        paths = {tuple(path): code for path, code in errors}
        rows = [(n, (ROOT_LISTS[type_name], "nodes", i, name)) for i, n in enumerate(nodes)]
    else:  # employment events, reached through the people they belong to
        _, people, errors = await _all_pages(
            client, token, "employees", f"history(first: 100) {{ nodes {{ id {selection} }} }}"
        )
        paths = {tuple(path): code for path, code in errors}
        rows = [
            (event, ("employees", "nodes", i, "history", "nodes", j, name))
            for i, person in enumerate(people)
            for j, event in enumerate(person["history"]["nodes"])
        ]
    assert rows or not _expected_rows(world, policy.ROWS, type_name, principal)
    readable = _readable_rows(world, type_name, name, principal)
    stored = _stored_values(seeded_url, type_name, name)
    withheld = set()
    for node, path in rows:
        pk = _pk(node["id"])
        value = node[name]["city"] if isinstance(node[name], dict) else node[name]
        if pk in readable:
            assert path not in paths, f"{type_name}.{name} of row {pk} is readable but got {paths[path]}"
            assert value == stored[pk]
        else:
            assert node[name] is None, f"{type_name}.{name} of row {pk} leaked"
            assert paths.get(path) == "FORBIDDEN"
            withheld.add(path)
    assert set(paths) == withheld  # no error anywhere else


@pytest.mark.parametrize("roles", ALL_PRINCIPALS, ids="+".join)
@pytest.mark.parametrize(
    "root, type_name",
    [
        ("ordersAggregate", "Order"),
        ("invoicesAggregate", "Invoice"),
        ("paymentsAggregate", "Payment"),
        ("orderLinesAggregate", "OrderLine"),
        ("employeesAggregate", "Employee"),
    ],
)
async def test_aggregates_cover_exactly_the_aggregate_scope(app, client, world, roles, root, type_name):
    principal = _principal(world, roles)
    body = await gql(client, f"{{ {root} {{ count }} }}", token=_token(app, principal))
    if not any(role in policy.AGGREGATES[type_name] for role in roles):
        assert body["data"] == {root: None}
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
        return
    assert "errors" not in body, body["errors"]
    expected = _expected_rows(world, policy.AGGREGATES, type_name, principal)
    assert body["data"][root] == [{"count": len(expected)}]


async def test_analysts_total_salaries_but_never_for_groups_that_would_reveal_a_person(app, client, world, seeded_url):
    token = _token(app, {"roles": {"analyst"}})
    body = await gql(
        client,
        "{ employeesAggregate(groupBy: {dimensions: [DEPARTMENT]}) { count sum { salary } department { id } } }",
        token=token,
    )
    sums = dict(sql(seeded_url, "SELECT department_id, sum(salary) FROM employees WHERE org_id = %s GROUP BY 1", ORG))
    errors = {tuple(e["path"]): e["extensions"]["code"] for e in body.get("errors", [])}
    shown = hidden = 0
    for i, group in enumerate(body["data"]["employeesAggregate"]):
        path = ("employeesAggregate", i, "sum", "salary")
        if group["count"] >= policy.SMALL_GROUP:
            assert group["sum"]["salary"] == str(sums[_pk(group["department"]["id"])])
            assert path not in errors
            shown += 1
        else:
            assert group["sum"]["salary"] is None and errors[path] == "FORBIDDEN"
            hidden += 1
    assert shown and hidden
    # One person's salary cannot be read off a filter either.
    body = await gql(client, '{ employees(filter: {salary: {gte: "0"}}) { totalCount } }', token=token)
    assert body["data"] == {"employees": None}
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "field": ["filter", "salary"]}


async def test_sorting_by_a_field_one_may_not_read_is_refused(app, client, world):
    body = await gql(
        client,
        "{ customers(orderBy: [{field: CREDIT_LIMIT}]) { nodes { id } } }",
        token=_token(app, {"roles": {"analyst"}}),
    )
    assert body["data"] == {"customers": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    finance = await gql(
        client,
        "{ customers(orderBy: [{field: CREDIT_LIMIT}]) { nodes { id } } }",
        token=_token(app, {"roles": {"finance"}}),
    )
    assert "errors" not in finance


async def test_filters_on_partly_readable_fields_only_match_readable_rows(app, client, world, seeded_url):
    """An employee filtering everyone by salary finds at most itself."""
    principal = _principal(world, ("employee",))
    body = await gql(
        client, '{ employees(filter: {salary: {gte: "0"}}) { nodes { id } } }', token=_token(app, principal)
    )
    assert [_pk(n["id"]) for n in body["data"]["employees"]["nodes"]] == [principal["employee_id"]]
    body = await gql(
        client, '{ employees(filter: {not: {salary: {gte: "0"}}}) { totalCount } }', token=_token(app, principal)
    )
    assert body["data"]["employees"]["totalCount"] == len(world.ids["Employee"]) - 1


async def test_me_explains_what_the_planner_enforces(app, client, world):
    principal = _principal(world, ("manager", "employee"))
    body = await gql(
        client,
        '{ me { roles employee { id salary } permissions(typeName: "Employee") {'
        " rowScopes { scope } aggregateScopes { scope } fields { name access rowScopes { scope } } } } }",
        token=_token(app, principal),
    )
    assert "errors" not in body, body.get("errors")
    me = body["data"]["me"]
    assert me["roles"] == ["EMPLOYEE", "MANAGER"]
    assert _pk(me["employee"]["id"]) == principal["employee_id"] and me["employee"]["salary"] is not None
    permissions = me["permissions"]
    assert permissions["rowScopes"] == [{"scope": "ALL"}]
    assert permissions["aggregateScopes"] == [{"scope": "MY_REPORTS"}]
    fields = {f["name"]: f for f in permissions["fields"]}
    assert fields["salary"]["access"] == "SOME_ROWS"
    assert [s["scope"] for s in fields["salary"]["rowScopes"]] == ["MY_REPORTS", "MYSELF"]
    assert fields["nationalId"]["access"] == "SOME_ROWS"
    assert fields["fullName"]["access"] == "ALLOWED"
    customer = await gql(
        client, '{ me { permissions(typeName: "Customer") { rowScopes { scope } } } }', token=_token(app, principal)
    )
    # A manager sees the customers its team sold to (to approve their orders), nothing else.
    assert customer["data"]["me"]["permissions"]["rowScopes"] == [{"scope": "TEAM_SALES"}]
    unknown = await gql(client, '{ me { permissions(typeName: "Me") { typeName } } }', token=_token(app, principal))
    assert unknown["data"]["me"]["permissions"] is None
