"""The four workloads: a GraphQL document for bizgraph and one hand-written SQL statement (the floor).

Each floor statement returns, as one text value, exactly the JSON that bizgraph
puts under ``data`` (same keys, same order of rows, enums in UPPER_CASE, Decimal
as strings, global IDs computed the same way), so the comparison is the same
result, not merely a similar one; ``run.py`` checks that before measuring.
The floor is cast to ``text`` so psycopg hands back the bytes without parsing
them, just as a server would stream them to its client.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

DAYS = 30  # Q4's window, in calendar days of the organization's time zone
DEFAULT_PAGE = 50  # bizgraph's default `first` (order lines are read without one)


@dataclass(frozen=True)
class DataContext:
    """Facts about the database the workloads need, read once at start."""

    org_id: int
    org_slug: str
    time_zone: str
    customer_ids: list[int]  # a deterministic sample of the demo organization's customers
    since: datetime  # start of Q4's window
    latest: datetime  # newest placed_at: the data's "now"


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    query: str
    # Parallel lists: request i sends variables[i % n] to bizgraph and
    # floor_params[i % n] to PostgreSQL, so both sides read the same rows.
    variables: list[dict[str, Any]]
    floor_sql: str
    floor_params: list[dict[str, Any]]


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def gid_sql(type_name: str, column: str) -> str:
    # The Relay ID as bizgraph encodes it: base64("<Type>:<pk>").
    return f"encode(convert_to('{type_name}:' || {column}, 'UTF8'), 'base64')"


def load_context(conninfo: str, sample: int) -> DataContext:
    """The demo organization (the first one, as the server picks it) and Q1/Q4 inputs."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        org = conn.execute("SELECT id, slug, time_zone FROM organizations ORDER BY id LIMIT 1").fetchone()
        if org is None:
            raise SystemExit("bench: the database has no organization: run `bizgraph seed` first")
        org_id, slug, zone = org
        ids = sample_customers(conn, org_id, sample)
        if not ids:
            raise SystemExit("bench: the demo organization has no customers: run `bizgraph seed` first")
        # "The last 30 days" of data anchored in the past: whole local days ending
        # on the day of the newest order, so every bucket is a complete day.
        latest, since = conn.execute(
            """
            SELECT max(placed_at),
                   (date_trunc('day', max(placed_at) AT TIME ZONE %(tz)s) - make_interval(days => %(days)s - 1))
                       AT TIME ZONE %(tz)s
            FROM orders WHERE org_id = %(org)s
            """,
            {"tz": zone, "days": DAYS, "org": org_id},
        ).fetchone()
        if latest is None:
            raise SystemExit("bench: the demo organization has no placed orders: run `bizgraph seed` first")
    return DataContext(org_id, slug, zone, ids, since, latest)


def sample_customers(conn: psycopg.Connection, org_id: int, sample: int, among: set[int] | None = None) -> list[int]:
    """Up to ``sample`` customer ids in md5 order: spread over the whole table, the same on every run;
    ``among``: only those ids (the customers the bench's principal can see)."""
    among_sql = "" if among is None else " AND id = ANY(%(among)s)"
    return [
        row[0]
        for row in conn.execute(
            f"SELECT id FROM customers WHERE org_id = %(org)s{among_sql} ORDER BY md5(id::text) LIMIT %(n)s",
            {"org": org_id, "n": sample, "among": sorted(among or ())},
        )
    ]


def q1(ctx: DataContext) -> Workload:
    fields = "id number name kind email phone segment country taxId creditLimit status"
    floor = f"""
SELECT json_build_object('customer', json_build_object(
    'id', {gid_sql("Customer", "c.id")}, 'number', c.number, 'name', c.name, 'kind', upper(c.kind),
    'email', c.email, 'phone', c.phone, 'segment', upper(c.segment), 'country', c.country,
    'taxId', c.tax_id, 'creditLimit', c.credit_limit::text, 'status', upper(c.status)))::text
FROM customers c WHERE c.id = %(id)s AND c.org_id = %(org)s"""
    return Workload(
        key="Q1",
        title=f"one customer by id, 10 scalars ({len(ctx.customer_ids)} ids)",
        query=f"query($id: ID!) {{ customer(id: $id) {{ {fields} }} }}",
        variables=[{"id": global_id("Customer", pk)} for pk in ctx.customer_ids],
        floor_sql=floor,
        floor_params=[{"id": pk, "org": ctx.org_id} for pk in ctx.customer_ids],
    )


def q2(ctx: DataContext) -> Workload:
    query = (
        "{ customers(first: 100) { edges { node { id name"
        " orders(first: 10, orderBy: [{field: PLACED_AT, direction: DESC}]) { edges { node {"
        " number total placedAt lines { edges { node { quantity lineTotal product { name } } } }"
        " invoice { status } } } } } } } }"
    )
    # LATERAL joins walk the same indexes bizgraph's correlated subqueries do:
    # customers by id, orders by (customer_id, placed_at, id), lines by (order_id, line_no).
    # DESC puts NULL placed_at (drafts) first, as bizgraph's ORDER BY does.
    floor = f"""
SELECT json_build_object('customers', json_build_object('edges', COALESCE(json_agg(
    json_build_object('node', json_build_object(
        'id', {gid_sql("Customer", "c.id")}, 'name', c.name,
        'orders', json_build_object('edges', o.edges)))
    ORDER BY c.id), '[]'::json)))::text
FROM (SELECT id, name FROM customers WHERE org_id = %(org)s ORDER BY id LIMIT 100) c
CROSS JOIN LATERAL (
    SELECT COALESCE(json_agg(json_build_object('node', json_build_object(
               'number', o.number, 'total', o.total::text, 'placedAt', o.placed_at,
               'lines', json_build_object('edges', l.edges), 'invoice', i.invoice))
           ORDER BY o.placed_at DESC, o.id DESC), '[]'::json) AS edges
    FROM (SELECT id, number, total, placed_at FROM orders
          WHERE customer_id = c.id ORDER BY placed_at DESC, id DESC LIMIT 10) o
    CROSS JOIN LATERAL (
        -- (order_id, line_no) is unique, so line_no alone orders the lines as
        -- bizgraph's (line_no, id) does, straight from the unique index. The
        -- product is a keyed lookup per line: a join here lets the planner
        -- hash all products once per order.
        SELECT COALESCE(json_agg(json_build_object('node', json_build_object(
                   'quantity', l.quantity, 'lineTotal', l.line_total::text,
                   'product', (SELECT json_build_object('name', p.name) FROM products p WHERE p.id = l.product_id)))
               ORDER BY l.line_no), '[]'::json) AS edges
        FROM (SELECT quantity, line_total, product_id, line_no FROM order_lines
              WHERE order_id = o.id ORDER BY line_no LIMIT {DEFAULT_PAGE}) l
    ) l
    LEFT JOIN LATERAL (
        SELECT json_build_object('status', upper(status)) AS invoice
        FROM invoices WHERE order_id = o.id AND status <> 'void'
    ) i ON true
) o"""
    return Workload(
        key="Q2",
        title="100 customers → 10 latest orders → lines → product, invoice",
        query=query,
        variables=[{}],
        floor_sql=floor,
        floor_params=[{"org": ctx.org_id}],
    )


def q3(ctx: DataContext) -> Workload:
    fields = "id number status placedAt subtotal tax total createdAt"
    floor = f"""
SELECT json_build_object('orders', json_build_object('edges', COALESCE(json_agg(
    json_build_object('node', json_build_object(
        'id', {gid_sql("Order", "o.id")}, 'number', o.number, 'status', upper(o.status), 'placedAt', o.placed_at,
        'subtotal', o.subtotal::text, 'tax', o.tax::text, 'total', o.total::text, 'createdAt', o.created_at))
    ORDER BY o.id), '[]'::json)))::text
FROM (SELECT * FROM orders WHERE org_id = %(org)s ORDER BY id LIMIT 1000) o"""
    return Workload(
        key="Q3",
        title="first 1000 orders, 8 scalars",
        query=f"{{ orders(first: 1000) {{ edges {{ node {{ {fields} }} }} }} }}",
        variables=[{}],
        floor_sql=floor,
        floor_params=[{"org": ctx.org_id}],
    )


def q4(ctx: DataContext) -> Workload:
    query = (
        "query($since: DateTime!) { ordersAggregate(filter: {placedAt: {gte: $since},"
        " status: {nin: [DRAFT, CANCELLED]}}, groupBy: {bucket: DAY}) { bucket count sum { total } } }"
    )
    # Day buckets in the organization's time zone, as bizgraph's aggregates bucket them.
    floor = """
SELECT json_build_object('ordersAggregate', COALESCE(json_agg(json_build_object(
    'bucket', g.bucket, 'count', g.n, 'sum', json_build_object('total', g.total::text)) ORDER BY g.bucket),
    '[]'::json))::text
FROM (
    SELECT (placed_at AT TIME ZONE %(tz)s)::date AS bucket, count(*) AS n, sum(total) AS total
    FROM orders
    WHERE org_id = %(org)s AND placed_at >= %(since)s AND status NOT IN ('draft', 'cancelled')
    GROUP BY 1
) g"""
    return Workload(
        key="Q4",
        title=f"revenue and order count per day, last {DAYS} days",
        query=query,
        variables=[{"since": ctx.since.isoformat()}],
        floor_sql=floor,
        floor_params=[{"tz": ctx.time_zone, "org": ctx.org_id, "since": ctx.since}],
    )


ALL = {"Q1": q1, "Q2": q2, "Q3": q3, "Q4": q4}


def build(keys: list[str], ctx: DataContext) -> list[Workload]:
    return [ALL[key](ctx) for key in keys]
