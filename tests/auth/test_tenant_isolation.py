"""Another organization's rows never come back, whatever the query tries.

Both seeded organizations take the attacker's seat in turn. The attempts:
every root field, every relation of every type, ``node(id:)`` and the root
lookups with the other organization's IDs, foreign-key and relation filters
naming its rows, cursors taken from its pages, and every aggregate. Every
global ID in every answer is checked against the database.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import get_named_type

from resolvers.catalog import CATALOG
from resolvers.planner.catalog import ForeignId, ToMany, ToOne
from resolvers.planner.ids import encode_id
from schema import build_schema
from schema.fastpath import PLANNED_ROOTS
from tests.support.auth import token_for
from tests.support.graphql import gql, sql
from tests.support.webhook_rows import webhooks_of_both_organizations

SCHEMA = build_schema()._schema
ORGS = {"acme": 1, "globex": 2}
CONNECTION_ROOTS = {root: type_name for root, (kind, type_name) in PLANNED_ROOTS.items() if kind == "connection"}
LOOKUP_ROOTS = {root: type_name for root, (kind, type_name) in PLANNED_ROOTS.items() if kind == "one"}
AGGREGATE_ROOTS = {root: type_name for root, (kind, type_name) in PLANNED_ROOTS.items() if kind == "aggregate"}


@pytest.fixture(scope="module", autouse=True)
def webhook_rows(seeded_url) -> Iterator[None]:
    with webhooks_of_both_organizations(seeded_url):
        yield


@pytest.fixture(scope="module")
def owners(seeded_url, webhook_rows) -> dict[tuple[str, int], int]:
    """(type, pk) → organization, for every row of every entity (read as the owner, past RLS)."""
    owner: dict[tuple[str, int], int] = {}
    for type_name, entity in CATALOG.entities.items():
        for pk, org in sql(seeded_url, f"SELECT id, org_id FROM {entity.table}"):
            owner[(type_name, pk)] = org
    return owner


def _other(org: str) -> str:
    return "globex" if org == "acme" else "acme"


def _admin(app, org: str) -> str:
    return token_for(app, org_id=ORGS[org], roles={"admin"})


def _ids_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                yield item
            else:
                yield from _ids_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ids_in(item)


def _assert_only(org: str, body: dict[str, Any], owners: dict[tuple[str, int], int]) -> int:
    """Every global ID in the answer belongs to ``org``; returns how many were checked."""
    checked = 0
    for global_id in _ids_in(body.get("data")):
        type_name, _, pk = base64.b64decode(global_id).decode().partition(":")
        assert owners[(type_name, int(pk))] == ORGS[org], f"{type_name}:{pk} of another organization leaked"
        checked += 1
    return checked


def _other_ids(seeded_url, org: str, type_name: str, limit: int = 5) -> list[str]:
    table = CATALOG[type_name].table
    rows = sql(seeded_url, f"SELECT id FROM {table} WHERE org_id = %s ORDER BY id LIMIT {limit}", ORGS[_other(org)])
    return [encode_id(type_name, pk) for (pk,) in rows]


def _relations_selection(type_name: str) -> str:
    """``id`` and every relation of the type, one level deep, with IDs."""
    parts = ["id"]
    for name, field in CATALOG[type_name].fields.items():
        if isinstance(field, ToOne):
            parts.append(f"{name} {{ id }}")
        elif isinstance(field, ToMany):
            parts.append(f"{name}(first: 20) {{ totalCount nodes {{ id }} }}")
    return " ".join(parts)


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("root", sorted(CONNECTION_ROOTS))
async def test_root_lists_and_every_relation_stay_inside_the_organization(app, client, seeded_url, owners, org, root):
    type_name = CONNECTION_ROOTS[root]
    query = f"{{ {root}(first: 100) {{ totalCount nodes {{ {_relations_selection(type_name)} }} }} }}"
    body = await gql(client, query, token=_admin(app, org))
    assert "errors" not in body, body["errors"]
    expected = sql(seeded_url, f"SELECT count(*) FROM {CATALOG[type_name].table} WHERE org_id = %s", ORGS[org])[0][0]
    assert body["data"][root]["totalCount"] == expected
    assert _assert_only(org, body, owners) > 0


# Types without a root list, reached through the list of their parents.
NESTED = {
    "OrderLine": ("orders", "lines"),
    "InvoiceLine": ("invoices", "lines"),
    "EmploymentEvent": ("employees", "history"),
    "EmailAttempt": ("emailDeliveries", "attemptLog"),
}


def test_every_type_is_reached_by_the_relation_walk():
    assert set(CONNECTION_ROOTS.values()) | set(NESTED) == set(CATALOG.entities)


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("type_name", sorted(NESTED))
async def test_relations_of_nested_types_stay_inside_the_organization(app, client, owners, org, type_name):
    root, field = NESTED[type_name]
    query = (
        f"{{ {root}(first: 30) {{ nodes {{ {field}(first: 10) {{"
        f" nodes {{ {_relations_selection(type_name)} }} }} }} }} }}"
    )
    body = await gql(client, query, token=_admin(app, org))
    assert "errors" not in body, body["errors"]
    assert _assert_only(org, body, owners) > 30


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("type_name", sorted(CATALOG.entities))
async def test_node_with_another_organizations_ids_finds_nothing(app, client, seeded_url, org, type_name):
    for global_id in _other_ids(seeded_url, org, type_name):
        body = await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, token=_admin(app, org))
        assert body["data"] == {"node": None}
        assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("root", sorted(LOOKUP_ROOTS))
async def test_root_lookups_with_another_organizations_ids_find_nothing(app, client, seeded_url, org, root):
    for global_id in _other_ids(seeded_url, org, LOOKUP_ROOTS[root]):
        body = await gql(
            client, f"query($id: ID!) {{ {root}(id: $id) {{ id }} }}", {"id": global_id}, token=_admin(app, org)
        )
        assert body["data"] == {root: None}
        assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]


def _foreign_filters() -> Iterator[tuple[str, str, str, str]]:
    """(root, filter key, target type, kind) for every filter that names another row."""
    for root, type_name in CONNECTION_ROOTS.items():
        for key, target in CATALOG[type_name].filters.items():
            if isinstance(target, ForeignId):
                yield root, key, target.target, "id"
            elif isinstance(target, ToOne):
                yield root, key, target.target, "relation"


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("root, key, target, kind", sorted(_foreign_filters()))
async def test_filters_naming_another_organizations_rows_match_nothing(
    app, client, seeded_url, org, root, key, target, kind
):
    other = _other_ids(seeded_url, org, target, limit=20)
    assert other
    filters = [{key: {"eq": other[0]}}, {key: {"in": other}}] if kind == "id" else [{key: {"id": {"in": other}}}]
    for filter_value in filters:
        body = await gql(
            client,
            f"query($f: {_filter_type(root)}) {{ {root}(filter: $f) {{ totalCount nodes {{ id }} }} }}",
            {"f": filter_value},
            token=_admin(app, org),
        )
        assert "errors" not in body, body["errors"]
        assert body["data"][root] == {"totalCount": 0, "nodes": []}


def _filter_type(root: str) -> str:
    argument = SCHEMA.query_type.fields[root].args["filter"]
    return get_named_type(argument.type).name


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("root", ["customers", "orders", "employees", "invoices"])
async def test_cursors_from_another_organization_only_page_through_ones_own(app, client, owners, org, root):
    other_token = _admin(app, _other(org))
    page = await gql(client, f"{{ {root}(first: 3) {{ pageInfo {{ endCursor }} }} }}", token=other_token)
    cursor = page["data"][root]["pageInfo"]["endCursor"]
    for direction in ("first: 50, after", "last: 50, before"):
        body = await gql(
            client,
            f"query($c: String!) {{ {root}({direction}: $c) {{ totalCount nodes {{ id }} }} }}",
            {"c": cursor},
            token=_admin(app, org),
        )
        assert "errors" not in body, body["errors"]
        _assert_only(org, body, owners)


AGGREGATE_DIMENSIONS = {
    "ordersAggregate": ("CUSTOMER", "customer", "SALES_REP", "salesRep"),
    "invoicesAggregate": ("CUSTOMER", "customer", None, None),
    "orderLinesAggregate": ("PRODUCT", "product", None, None),
    "employeesAggregate": ("DEPARTMENT", "department", None, None),
    "paymentsAggregate": (None, None, None, None),
}


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("root", sorted(AGGREGATE_ROOTS))
async def test_aggregates_count_only_ones_own_rows(app, client, seeded_url, owners, org, root):
    type_name = AGGREGATE_ROOTS[root]
    total = await gql(client, f"{{ {root} {{ count }} }}", token=_admin(app, org))
    expected = sql(seeded_url, f"SELECT count(*) FROM {CATALOG[type_name].table} WHERE org_id = %s", ORGS[org])[0][0]
    assert total["data"][root] == [{"count": expected}]
    dimension, key, second, second_key = AGGREGATE_DIMENSIONS[root]
    if dimension is None:
        return
    dimensions = [d for d in (dimension, second) if d]
    keys = " ".join(f"{k} {{ id }}" for k in (key, second_key) if k)
    body = await gql(
        client,
        f"{{ {root}(groupBy: {{dimensions: [{', '.join(dimensions)}]}}) {{ count {keys} }} }}",
        token=_admin(app, org),
    )
    assert "errors" not in body, body["errors"]
    assert sum(group["count"] for group in body["data"][root]) == expected
    assert _assert_only(org, body, owners) > 0


@pytest.mark.parametrize("org", ORGS)
async def test_me_names_ones_own_organization(app, client, org):
    body = await gql(client, "{ me { organization { slug } roles } }", token=_admin(app, org))
    assert body["data"]["me"] == {"organization": {"slug": org}, "roles": ["ADMIN"]}
