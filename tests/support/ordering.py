"""Placing an order through the API, as a client would: createOrder, then placeOrder."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.workflow import gid, mutate, sql, token

CREATE_ORDER = """
mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id } errors { code message } } }"""
PLACE_ORDER = """
mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { status total } errors { code message } } }"""


async def place_an_order(client: httpx.AsyncClient, settings: Any, org: str = "acme") -> dict[str, Any]:
    """A one-line order of a cheap product in stock, for the active customer with the most credit
    left (its limit less its open invoices), placed by the organization's admin; the placed
    order's status and total."""
    url = settings.database_url
    ((customer, product),) = sql(
        url,
        "SELECT (SELECT c.id FROM customers c WHERE c.org_id = o.id AND c.status = 'active'"
        "        ORDER BY c.credit_limit - (SELECT coalesce(sum(i.total - i.amount_paid), 0) FROM invoices i"
        "          WHERE i.customer_id = c.id AND i.status IN ('issued', 'partially_paid', 'overdue')) DESC, c.id"
        "        LIMIT 1),"
        "       (SELECT p.id FROM products p WHERE p.org_id = o.id AND p.active"
        "        AND p.stock_on_hand - p.stock_reserved > 0 ORDER BY p.unit_price, p.id LIMIT 1)"
        " FROM organizations o WHERE o.slug = %s",
        org,
    )
    admin = token(settings, "admin", org)
    line = {"productId": gid("Product", product), "quantity": 1}
    created = await mutate(
        client, CREATE_ORDER, {"input": {"customerId": gid("Customer", customer), "lines": [line]}}, admin
    )
    assert created["errors"] == [], created
    placed = await mutate(client, PLACE_ORDER, {"input": {"id": created["order"]["id"]}}, admin)
    assert placed["errors"] == [], placed
    order: dict[str, Any] = placed["order"]
    return order
