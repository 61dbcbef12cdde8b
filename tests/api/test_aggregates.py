"""Aggregates for analysts: exact sums, buckets in the organization's time zone."""

from __future__ import annotations

from decimal import Decimal

from tests.support.graphql import data, error_codes, gql, sql

ORG = "(SELECT id FROM organizations ORDER BY id LIMIT 1)"


async def test_monthly_revenue_by_status_equals_sql(client, seeded_url):
    expected = {
        (str(r[0]), r[1].upper()): (r[2], r[3], r[4])
        for r in sql(
            seeded_url,
            f"""SELECT (date_trunc('month', o.placed_at, g.time_zone) AT TIME ZONE g.time_zone)::date, o.status,
                       count(*), sum(o.total), round(avg(o.total), 2)
                FROM orders o JOIN organizations g ON g.id = o.org_id
                WHERE o.org_id = {ORG} AND o.placed_at IS NOT NULL GROUP BY 1, 2""",
        )
    }
    result = await data(
        client,
        """{ ordersAggregate(filter: {placedAt: {isNull: false}}, groupBy: {bucket: MONTH, dimensions: [STATUS]}) {
              bucket status count sum { total } avg { total } } }""",
    )
    groups = result["ordersAggregate"]
    got = {
        (g["bucket"], g["status"]): (g["count"], Decimal(g["sum"]["total"]), Decimal(g["avg"]["total"])) for g in groups
    }
    assert got == expected
    assert [(g["bucket"], g["status"]) for g in groups] == sorted((g["bucket"], g["status"]) for g in groups)


async def test_ungrouped_aggregate_is_one_group_and_sums_are_exact(client, seeded_url):
    [(count, total, paid)] = sql(
        seeded_url, f"SELECT count(*), sum(total), sum(amount_paid) FROM invoices WHERE org_id = {ORG}"
    )
    result = await data(client, "{ invoicesAggregate { bucket count sum { total amountPaid amountDue } } }")
    [group] = result["invoicesAggregate"]
    assert group["bucket"] is None and group["count"] == count
    assert Decimal(group["sum"]["total"]) == total and Decimal(group["sum"]["amountPaid"]) == paid
    assert Decimal(group["sum"]["amountDue"]) == total - paid


async def test_object_dimensions_resolve_to_planned_objects(client, seeded_url):
    result = await data(
        client,
        """{ orderLinesAggregate(groupBy: {dimensions: [PRODUCT]}) { product { sku } count sum { quantity lineTotal } }
            employeesAggregate(groupBy: {dimensions: [DEPARTMENT, STATUS]}) { department { name } status count
              avg { salary } }
            paymentsAggregate(groupBy: {bucket: YEAR, dimensions: [METHOD]}) { bucket method sum { amount } } }""",
    )
    expected = {
        r[0]: (r[1], r[2])
        for r in sql(
            seeded_url,
            f"""SELECT p.sku, sum(l.quantity), sum(l.line_total)
                FROM order_lines l JOIN products p ON p.id = l.product_id
                WHERE l.org_id = {ORG} GROUP BY p.sku""",
        )
    }
    got = {
        g["product"]["sku"]: (int(g["sum"]["quantity"]), Decimal(g["sum"]["lineTotal"]))
        for g in result["orderLinesAggregate"]
    }
    assert got == expected
    assert (
        sum(g["count"] for g in result["employeesAggregate"])
        == sql(seeded_url, f"SELECT count(*) FROM employees WHERE org_id = {ORG}")[0][0]
    )
    assert all(g["bucket"].endswith("-01-01") for g in result["paymentsAggregate"])


async def test_too_many_groups_is_a_coded_error(client):
    body = await gql(client, "{ ordersAggregate(groupBy: {bucket: DAY, dimensions: [CUSTOMER, STATUS]}) { count } }")
    # The tiny data set has fewer than 1000 such groups only if it is very small; either way no 500.
    assert body.get("errors") is None or error_codes(body) == ["TOO_MANY_GROUPS"]
