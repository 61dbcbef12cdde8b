"""Reading every entity and relation over HTTP, checked against the database itself."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from tests.support.graphql import data, sql

ORG = "(SELECT id FROM organizations ORDER BY id LIMIT 1)"


def gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


async def test_customers_total_count_and_scalars_match_the_database(client, seeded_url):
    [(count,)] = sql(seeded_url, f"SELECT count(*) FROM customers WHERE org_id = {ORG}")
    result = await data(
        client,
        "{ customers(first: 3, orderBy: [{field: NUMBER}]) { totalCount nodes { id number creditLimit createdAt } } }",
    )
    assert result["customers"]["totalCount"] == count
    rows = sql(
        seeded_url, f"SELECT id, number, credit_limit FROM customers WHERE org_id = {ORG} ORDER BY number, id LIMIT 3"
    )
    nodes = result["customers"]["nodes"]
    assert [n["id"] for n in nodes] == [gid("Customer", r[0]) for r in rows]
    assert [Decimal(n["creditLimit"]) for n in nodes] == [r[2] for r in rows]
    assert all(n["createdAt"].endswith("+00:00") for n in nodes)  # ISO 8601 with offset


async def test_every_root_field_answers(client):
    result = await data(
        client,
        """{
          customers(first: 1) { nodes { id } } products(first: 1) { nodes { id } } orders(first: 1) { nodes { id } }
          invoices(first: 1) { nodes { id } } payments(first: 1) { nodes { id } } employees(first: 1) { nodes { id } }
          departments(first: 1) { nodes { id } }
        }""",
    )
    ids = {name: conn["nodes"][0]["id"] for name, conn in result.items()}
    singular = {
        "customers": "customer",
        "products": "product",
        "orders": "order",
        "invoices": "invoice",
        "employees": "employee",
        "departments": "department",
    }
    query = "{ " + " ".join(f'{one}(id: "{ids[many]}") {{ id }}' for many, one in singular.items())
    query += " " + " ".join(f'n_{many}: node(id: "{ids[many]}") {{ __typename id }}' for many in ids) + " }"
    again = await data(client, query)
    for many, one in singular.items():
        assert again[one]["id"] == ids[many]
    assert again["n_payments"]["__typename"] == "Payment"
    assert again["n_orders"] == {"__typename": "Order", "id": ids["orders"]}


async def test_relations_in_both_directions_agree(client, seeded_url):
    result = await data(
        client,
        """{ orders(first: 20, filter: {status: {in: [PLACED, APPROVED, FULFILLED]}}) { nodes {
              id number customer { id orders(first: 100) { nodes { id } } }
              lines { nodes { id order { id }
                product { id orderLines(first: 100, filter: {quantity: {gte: 1}}) { totalCount } } } }
              invoice { id order { id } customer { id } payments { nodes { invoice { id } } } }
        } } }""",
    )
    orders = result["orders"]["nodes"]
    assert orders
    for order in orders:
        assert (
            order["id"] in {o["id"] for o in order["customer"]["orders"]["nodes"]}
            or len(order["customer"]["orders"]["nodes"]) == 100
        )
        for line in order["lines"]["nodes"]:
            assert line["order"]["id"] == order["id"]
            assert line["product"]["orderLines"]["totalCount"] >= 1
        if order["invoice"]:
            assert order["invoice"]["order"]["id"] == order["id"]
            assert order["invoice"]["customer"]["id"] == order["customer"]["id"]
            assert all(p["invoice"]["id"] == order["invoice"]["id"] for p in order["invoice"]["payments"]["nodes"])


async def test_order_totals_add_up_through_the_api(client):
    result = await data(
        client, "{ orders(first: 50) { nodes { subtotal tax total lines(first: 100) { nodes { lineTotal } } } } }"
    )
    for order in result["orders"]["nodes"]:
        assert Decimal(order["total"]) == Decimal(order["subtotal"]) + Decimal(order["tax"])
        assert Decimal(order["subtotal"]) == sum(
            (Decimal(line["lineTotal"]) for line in order["lines"]["nodes"]), Decimal(0)
        )


async def test_employee_tree_department_and_history(client, seeded_url):
    result = await data(
        client,
        """{ employees(first: 100) { nodes { id manager { id reports(first: 100) { nodes { id } } }
             department { id employees(first: 100) { nodes { id } } } history { nodes { kind occurredAt } } } } }""",
    )
    for employee in result["employees"]["nodes"]:
        if employee["manager"]:
            assert employee["id"] in {r["id"] for r in employee["manager"]["reports"]["nodes"]}
        assert employee["history"]["nodes"][0]["kind"] == "HIRED"
    departments = await data(
        client, "{ departments(first: 100) { nodes { id parent { id children { nodes { id } } } } } }"
    )
    for department in departments["departments"]["nodes"]:
        if department["parent"]:
            assert department["id"] in {c["id"] for c in department["parent"]["children"]["nodes"]}


async def test_aliases_fragments_variables_and_directives(client):
    query = """
    query($withEmail: Boolean!, $skipName: Boolean!, $first: Int) {
      a: customers(first: $first, orderBy: [{field: NAME}]) { nodes { ...Bits } }
      b: customers(first: 1, orderBy: [{field: NAME, direction: DESC}]) { nodes { __typename label: name } }
    }
    fragment Bits on Customer { id name @skip(if: $skipName) email @include(if: $withEmail) ... on Node { nodeId: id } }
    """
    result = await data(client, query, {"withEmail": True, "skipName": True, "first": 2})
    first = result["a"]["nodes"][0]
    assert set(first) == {"id", "email", "nodeId"} and first["nodeId"] == first["id"]
    assert result["b"]["nodes"][0]["__typename"] == "Customer" and "label" in result["b"]["nodes"][0]
    result = await data(client, query, {"withEmail": False, "skipName": False, "first": 1})
    assert set(result["a"]["nodes"][0]) == {"id", "name", "nodeId"}


@pytest.mark.parametrize(
    "field, column", [("NAME", "name"), ("CREDIT_LIMIT", "credit_limit"), ("CREATED_AT", "created_at")]
)
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_paging_forward_and_backward_visits_every_row_once_in_order(client, seeded_url, field, column, direction):
    order = f"{column} {direction}, id {direction}"
    expected = [
        gid("Customer", r[0])
        for r in sql(seeded_url, f"SELECT id FROM customers WHERE org_id = {ORG} ORDER BY {order}")
    ]
    query = """query($after: String, $before: String, $first: Int, $last: Int, $order: [CustomerSort!]) {
      customers(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id } } }"""
    sort = {"order": [{"field": field, "direction": direction}]}
    forwards, backwards = await _page_both_ways(client, query, sort, lambda d: d["customers"], first=17, last=23)
    assert forwards == expected
    assert backwards == expected


async def test_nullable_sort_keys_page_correctly(client, seeded_url):
    """Drafts have no placedAt: they sort last ascending, first descending, and paging keeps them."""
    for direction in ("ASC", "DESC"):
        expected = [
            gid("Order", r[0])
            for r in sql(
                seeded_url, f"SELECT id FROM orders WHERE org_id = {ORG} ORDER BY placed_at {direction}, id {direction}"
            )
        ]
        seen, after = [], None
        while True:
            page = (
                await data(
                    client,
                    "query($a: String, $d: SortDirection!) {"
                    " orders(first: 100, after: $a, orderBy: [{field: PLACED_AT, direction: $d}])"
                    " { pageInfo { hasNextPage endCursor } nodes { id } } }",
                    {"a": after, "d": direction},
                )
            )["orders"]
            seen += [n["id"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected


async def test_filters_combine_and_match_sql(client, seeded_url):
    [(expected,)] = sql(
        seeded_url,
        f"""SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id
            WHERE o.org_id = {ORG} AND o.total >= 100 AND o.status IN ('placed', 'fulfilled')
              AND NOT (c.segment = 'consumer') AND (o.placed_at IS NULL OR o.placed_at >= '2025-06-01T00:00:00Z')""",
    )
    result = await data(
        client,
        """{ orders(filter: {
              total: {gte: "100"}, status: {in: [PLACED, FULFILLED]},
              not: {customer: {segment: {eq: CONSUMER}}},
              or: [{placedAt: {isNull: true}}, {placedAt: {gte: "2025-06-01T00:00:00Z"}}]
            }) { totalCount } }""",
    )
    assert result["orders"]["totalCount"] == expected


async def test_filter_by_foreign_id_and_text_patterns(client, seeded_url):
    customer = (await data(client, "{ customers(first: 1, filter: {status: {eq: ACTIVE}}) { nodes { id name } } }"))[
        "customers"
    ]["nodes"][0]
    pk = int(base64.b64decode(customer["id"]).decode().split(":")[1])
    [(orders,)] = sql(seeded_url, "SELECT count(*) FROM orders WHERE customer_id = %s", pk)
    result = await data(
        client, "query($c: ID!) { orders(filter: {customerId: {eq: $c}}) { totalCount } }", {"c": customer["id"]}
    )
    assert result["orders"]["totalCount"] == orders
    prefix = customer["name"][:3].lower() + "%"
    [(matching,)] = sql(seeded_url, f"SELECT count(*) FROM customers WHERE org_id = {ORG} AND name ILIKE %s", prefix)
    result = await data(
        client, "query($p: String!) { customers(filter: {name: {ilike: $p}}) { totalCount } }", {"p": prefix}
    )
    assert result["customers"]["totalCount"] == matching >= 1


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_nested_lines_page_both_ways_in_line_order(client, seeded_url, direction):
    """A nested list sorted by a key unique within its parent (lines by line number within
    their order) is ordered without the id tiebreaker; its pages and cursors stay the same."""
    [(order_id,)] = sql(
        seeded_url,
        f"SELECT order_id FROM order_lines WHERE org_id = {ORG} GROUP BY 1 HAVING count(*) >= 4 ORDER BY 1 LIMIT 1",
    )
    expected = [
        gid("OrderLine", r[0])
        for r in sql(
            seeded_url, f"SELECT id FROM order_lines WHERE order_id = %s ORDER BY line_no {direction}", order_id
        )
    ]
    query = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $d: SortDirection!) {
      order(id: $id) { lines(first: $first, after: $after, last: $last, before: $before,
                             orderBy: [{field: LINE_NO, direction: $d}]) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { id } } } }"""
    variables = {"id": gid("Order", order_id), "d": direction}
    forwards, backwards = await _page_both_ways(
        client, query, variables, lambda d: d["order"]["lines"], first=3, last=3
    )
    assert forwards == expected
    assert backwards == expected


async def _page_both_ways(client, query, variables, connection, *, first: int, last: int) -> tuple[list, list]:
    """A connection's node ids paged forward (``first``/``after``) to its end, then backward
    (``last``/``before``) to its start, each in the connection's order; ``connection`` finds it
    in the answer's data. Forward, only the first page has no previous page."""
    forwards, after = [], None
    while True:
        page = connection(await data(client, query, {**variables, "first": first, "after": after}))
        forwards += [n["id"] for n in page["nodes"]]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backwards, before = [], None
    while True:
        page = connection(await data(client, query, {**variables, "last": last, "before": before}))
        backwards = [n["id"] for n in page["nodes"]] + backwards
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    return forwards, backwards
