"""What a new draft order costs in statements and round trips: a fixed number, whatever its
number of lines (``resolvers/orders/drafts.py``; the audit row and events travel with the
payload's read and COMMIT: ``resolvers/writes/statements.py``), and the SQL that numbers it."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from resolvers.orders.drafts import order_number
from tests.support.db import conninfo
from tests.support.graphql import count_statements, running_app
from tests.support.wire import counting_proxy
from tests.support.workflow import count, gid, mutate, sql, token

CREATE = (
    "mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id } errors { code field message } } }"
)


def _draft(url, lines: int) -> dict:
    customer = sql(url, "SELECT id FROM customers WHERE org_id = 1 AND status = 'active' ORDER BY id LIMIT 1")[0][0]
    products = sql(url, "SELECT id FROM products WHERE org_id = 1 AND active ORDER BY id LIMIT %s", lines)
    return {
        "customerId": gid("Customer", customer),
        "lines": [{"productId": gid("Product", row[0]), "quantity": 2, "discount": "0.50"} for row in products],
    }


async def test_a_draft_costs_the_same_four_statements_for_one_line_or_five(writes_app, writes_client, writes_settings):
    url = writes_settings.database_url
    admin = token(writes_settings, "admin")
    counted = {}
    for lines in (1, 5):
        with count_statements(writes_app) as statements:
            payload = await mutate(writes_client, CREATE, {"input": _draft(url, lines)}, admin)
        assert payload["errors"] == []
        counted[lines] = len(statements)
    # What it refers to, the order with its lines and totals, the audit row with its event,
    # and the payload's read.
    assert counted == {1: 4, 5: 4}


async def test_a_refused_draft_reads_once_and_writes_nothing(writes_app, writes_client, writes_settings):
    url = writes_settings.database_url
    draft = _draft(url, 2)
    draft["customerId"] = gid("Customer", 10**12)
    with count_statements(writes_app) as statements:
        payload = await mutate(writes_client, CREATE, {"input": draft}, token(writes_settings, "admin"))
    assert [error["code"] for error in payload["errors"]] == ["NOT_FOUND"]
    assert len(statements) == 1


@pytest.mark.parametrize("n", [1, 42, 9_999_999, 10_000_000, 123_456_789_012])
def test_order_numbers_have_at_least_seven_digits(writes_settings, n):
    with psycopg.connect(conninfo(writes_settings.database_url)) as conn:
        (number,) = conn.execute(f"SELECT {order_number('%(n)s::bigint')}", {"n": n}).fetchone()
    assert number == f"SO-{n:07d}"


async def test_a_draft_of_five_lines_is_four_round_trips(writes_settings):
    url = writes_settings.database_url
    headers = {"Authorization": f"Bearer {token(writes_settings, 'admin')}"}
    async with (
        counting_proxy(url) as (proxied, counter),
        running_app(replace(writes_settings, database_url=proxied), headers) as (_, client),
    ):
        await mutate(client, CREATE, {"input": _draft(url, 5)}, token(writes_settings, "admin"))  # warm
        counter.reset()
        payload = await mutate(client, CREATE, {"input": _draft(url, 5)}, token(writes_settings, "admin"))
        seen = counter.round_trips
    assert payload["errors"] == []
    # BEGIN with the organization; what the draft refers to; the draft; its audit row and
    # event, the payload's read and COMMIT. (A pipeline may reach the proxy as two sends.)
    assert 4 <= seen <= 5, seen


async def test_a_draft_whose_payload_selects_no_order_is_still_recorded(writes_client, writes_settings):
    url = writes_settings.database_url
    errors_only = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { errors { code } } }"
    before = count(url, "audit_log"), count(url, "outbox")
    payload = await mutate(writes_client, errors_only, {"input": _draft(url, 3)}, token(writes_settings, "admin"))
    assert payload == {"errors": []}
    assert (count(url, "audit_log"), count(url, "outbox")) == (before[0] + 1, before[1] + 1)
    (order,) = sql(url, "SELECT entity_id FROM outbox ORDER BY id DESC LIMIT 1")[0]
    assert count(url, "order_lines", "order_id = %s", order) == 3


async def test_the_payload_read_with_the_commit_sees_the_audit_row_recorded_before_it(writes_client, writes_settings):
    url = writes_settings.database_url
    document = (
        "mutation($input: CreateOrderInput!) { createOrder(input: $input) {"
        " order { number history(first: 5) { nodes { action } } } errors { code } } }"
    )
    payload = await mutate(writes_client, document, {"input": _draft(url, 2)}, token(writes_settings, "admin"))
    assert payload["errors"] == []
    assert [node["action"] for node in payload["order"]["history"]["nodes"]] == ["order.created"]
