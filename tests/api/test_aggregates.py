"""Aggregates for analysts: exact sums, buckets in the organization's time zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest

from tests.support.auth import token_for_user
from tests.support.graphql import data, error_codes, gql, running_app, sql

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


# -- time buckets in the organization's zone, across daylight-saving changes --------


@pytest.mark.parametrize("bucket", ["DAY", "WEEK", "MONTH"])
@pytest.mark.parametrize("slug", ["acme", "globex"])
async def test_buckets_are_local_periods_across_daylight_saving_changes(
    client, demo_settings, seeded_url, slug, bucket
):
    [(org_id, zone)] = sql(seeded_url, "SELECT id, time_zone FROM organizations WHERE slug = %s", slug)
    rows = sql(
        seeded_url,
        "SELECT placed_at FROM orders WHERE org_id = %s AND placed_at IS NOT NULL AND status <> 'cancelled'",
        org_id,
    )
    # Whatever the bucket, it must follow the zone's own offset on each date: a fixed
    # offset (its winter one or its summer one) puts some of these orders on another day.
    tz = ZoneInfo(zone)
    offsets = {datetime(2026, month, 1, tzinfo=tz).utcoffset() for month in (1, 7)}
    assert len(offsets) == 2, f"{zone} keeps no daylight-saving time: the test would prove nothing"
    for offset in offsets:
        assert any((at + offset).date() != at.astimezone(tz).date() for (at,) in rows), offset

    unit = bucket.lower()
    expected = sql(
        seeded_url,
        f"""SELECT (date_trunc('{unit}', placed_at, %s) AT TIME ZONE %s)::date, count(*), sum(total)
            FROM orders WHERE org_id = %s AND placed_at IS NOT NULL AND status <> 'cancelled'
            GROUP BY 1 ORDER BY 1""",
        zone,
        zone,
        org_id,
    )
    result = await data(
        client,
        f"""{{ ordersAggregate(filter: {{placedAt: {{isNull: false}}, status: {{neq: CANCELLED}}}},
              groupBy: {{bucket: {bucket}}}) {{ bucket count sum {{ total }} }} }}""",
        token=token_for_user(demo_settings, f"admin@{slug}.example"),
    )
    got = [(date.fromisoformat(g["bucket"]), g["count"], Decimal(g["sum"]["total"])) for g in result["ordersAggregate"]]
    assert got == expected
    # Groups are the periods that have rows: none is made up for a period without any.
    assert all(count > 0 for _, count, _ in got)
    if bucket == "WEEK":
        assert all(day.isoweekday() == 1 for day, _, _ in got)  # weeks start on Monday


async def test_groups_come_in_bucket_order_with_the_null_bucket_last(client, seeded_url):
    expected = sql(
        seeded_url,
        f"""SELECT (date_trunc('month', o.placed_at, g.time_zone) AT TIME ZONE g.time_zone)::date, upper(o.status),
                   count(*)
            FROM orders o JOIN organizations g ON g.id = o.org_id
            WHERE o.org_id = {ORG} GROUP BY 1, 2 ORDER BY 1 NULLS LAST, 2 NULLS LAST""",
    )
    result = await data(
        client, "{ ordersAggregate(groupBy: {bucket: MONTH, dimensions: [STATUS]}) { bucket status count } }"
    )
    got = [
        (None if g["bucket"] is None else date.fromisoformat(g["bucket"]), g["status"], g["count"])
        for g in result["ordersAggregate"]
    ]
    assert got == expected
    assert got[-1][0] is None  # drafts are not placed: their bucket is null, and last


async def test_an_empty_selection_is_no_groups_or_one_empty_group(client):
    nothing = '{placedAt: {lt: "1900-01-01T00:00:00Z"}}'
    result = await data(
        client,
        f"""{{ byDay: ordersAggregate(filter: {nothing}, groupBy: {{bucket: DAY}}) {{ bucket count }}
              all: ordersAggregate(filter: {nothing}) {{ bucket count sum {{ total }} }} }}""",
    )
    assert result == {"byDay": [], "all": [{"bucket": None, "count": 0, "sum": {"total": None}}]}


# -- the group cap ------------------------------------------------------------------

DAILY = "{ ordersAggregate(filter: {placedAt: {isNull: false}}, groupBy: {bucket: DAY}) { bucket count } }"


async def test_the_group_cap_reached_exactly_answers_every_group_and_exceeded_refuses(
    demo_settings, admin_headers, seeded_url
):
    days = sql(
        seeded_url,
        f"""SELECT (o.placed_at AT TIME ZONE g.time_zone)::date, count(*)
            FROM orders o JOIN organizations g ON g.id = o.org_id
            WHERE o.org_id = {ORG} AND o.placed_at IS NOT NULL GROUP BY 1 ORDER BY 1""",
    )
    assert len(days) > 2
    answers = {}
    for cap in (len(days), len(days) - 1):
        for fast_path in (True, False):
            settings = replace(demo_settings, max_aggregate_groups=cap, fast_path=fast_path)
            async with running_app(settings, admin_headers) as (_, http):
                response = await http.post("/graphql", json={"query": DAILY})
            assert response.status_code == 200
            answers[cap, fast_path] = response.content
        # Answered directly and field by field, the same bytes.
        assert answers[cap, True] == answers[cap, False]

    at_cap = orjson.loads(answers[len(days), True])
    assert "errors" not in at_cap
    assert [(date.fromisoformat(g["bucket"]), g["count"]) for g in at_cap["data"]["ordersAggregate"]] == days

    over = orjson.loads(answers[len(days) - 1, True])
    assert over["data"] == {"ordersAggregate": None}
    assert error_codes(over) == ["TOO_MANY_GROUPS"]
    assert f"more than {len(days) - 1} groups" in over["errors"][0]["message"]
