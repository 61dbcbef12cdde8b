"""Product mutations over HTTP with real tokens: create, update, stock
adjustments; validation, roles, optimistic concurrency, the audit trail and events."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from tests.support.workflow import codes, count, gid, mutate, sql, token

FIELDS = "id sku name description unitPrice taxRate stockOnHand stockReserved stockAvailable active version"
CREATE = f"""
mutation($input: CreateProductInput!) {{
  createProduct(input: $input) {{ product {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
UPDATE = f"""
mutation($input: UpdateProductInput!) {{
  updateProduct(input: $input) {{ product {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
ADJUST = f"""
mutation($input: AdjustStockInput!) {{
  adjustStock(input: $input) {{ product {{ {FIELDS} }} errors {{ code field message }} }}
}}"""
CREATE_ORDER = """
mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { id total lines { edges { node { unitPrice lineTotal } } } } errors { code field }
  }
}"""
READ_ORDER = "query($id: ID!) { order(id: $id) { total lines { edges { node { unitPrice lineTotal } } } } }"


def _sku() -> str:
    return f"T-{uuid.uuid4().hex[:10].upper()}"


def _new(**extra):
    return {"sku": _sku(), "name": "Torque wrench", "unitPrice": "49.90", **extra}


async def _create(client, settings, role="admin", **extra):
    payload = await mutate(client, CREATE, {"input": _new(**extra)}, token(settings, role))
    assert payload["errors"] == [], payload["errors"]
    return payload["product"]


def _decode(global_id: str) -> int:
    from resolvers.planner.ids import decode_id

    return decode_id(global_id, "Product")[1]


def _writes(url):
    return (count(url, "products"), count(url, "audit_log"), count(url, "outbox"))


async def test_create_product_writes_the_row_its_audit_entry_and_its_event(writes_client, writes_settings):
    url = writes_settings.database_url
    sku = _sku()
    created = await _create(
        writes_client, writes_settings, sku=sku, description="  1/2 inch drive  ", taxRate="0.19", stockOnHand=12
    )
    assert created == {
        "id": created["id"],
        "sku": sku,
        "name": "Torque wrench",
        "description": "1/2 inch drive",
        "unitPrice": "49.90",
        "taxRate": "0.1900",
        "stockOnHand": 12,
        "stockReserved": 0,
        "stockAvailable": 12,
        "active": True,
        "version": 1,
    }
    pk = _decode(created["id"])
    assert sql(url, "SELECT org_id, sku, unit_price, tax_rate FROM products WHERE id = %s", pk) == [
        (1, sku, Decimal("49.90"), Decimal("0.1900"))
    ]
    (audit,) = sql(
        url, "SELECT action, actor, changes FROM audit_log WHERE entity_type = 'Product' AND entity_id = %s", pk
    )
    assert audit[0] == "product.created" and audit[1] == "admin@acme.example"
    assert audit[2]["unitPrice"] == {"before": None, "after": "49.90"}
    assert audit[2]["stockOnHand"] == {"before": None, "after": 12}
    (event,) = sql(url, "SELECT event_type, payload FROM outbox WHERE entity_type = 'Product' AND entity_id = %s", pk)
    assert event == ("product.created", {"sku": sku, "unitPrice": "49.90", "active": True})


async def test_defaults_finance_may_create_and_other_roles_are_forbidden(writes_client, writes_settings):
    url = writes_settings.database_url
    made = await _create(writes_client, writes_settings, role="finance")
    assert (made["taxRate"], made["stockOnHand"], made["active"]) == ("0.0000", 0, True)
    before = _writes(url)
    for role in ("sales", "hr", "manager", "employee", "analyst", "customer"):
        payload = await mutate(writes_client, CREATE, {"input": _new()}, token(writes_settings, role))
        assert payload["product"] is None and codes(payload) == ["FORBIDDEN"], role
    assert _writes(url) == before


async def test_a_sku_is_unique_in_its_organization_only(writes_client, writes_settings):
    url = writes_settings.database_url
    first = await _create(writes_client, writes_settings)
    before = _writes(url)
    again = await mutate(writes_client, CREATE, {"input": _new(sku=first["sku"])}, token(writes_settings, "finance"))
    assert again["product"] is None
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("DUPLICATE", ["input", "sku"])]
    assert _writes(url) == before
    # Another organization may use the same SKU.
    elsewhere = await mutate(
        writes_client, CREATE, {"input": _new(sku=first["sku"])}, token(writes_settings, "admin", "globex")
    )
    assert elsewhere["errors"] == []
    assert sql(url, "SELECT org_id FROM products WHERE sku = %s ORDER BY org_id", first["sku"]) == [(1,), (2,)]


async def test_concurrent_creates_of_one_sku_make_one_product(writes_client, writes_settings):
    url = writes_settings.database_url
    sku = _sku()
    admin = token(writes_settings, "admin")
    racers = await asyncio.gather(*[mutate(writes_client, CREATE, {"input": _new(sku=sku)}, admin) for _ in range(4)])
    assert sorted(codes(p) for p in racers) == [[], ["DUPLICATE"], ["DUPLICATE"], ["DUPLICATE"]]
    assert count(url, "products", "sku = %s", sku) == 1


@pytest.mark.parametrize(
    "extra, code, field",
    [
        ({"sku": "S" * 65}, "TOO_LONG", ["input", "sku"]),
        ({"sku": "  "}, "REQUIRED", ["input", "sku"]),
        ({"name": "n" * 201}, "TOO_LONG", ["input", "name"]),
        ({"description": "d" * 2001}, "TOO_LONG", ["input", "description"]),
        ({"unitPrice": "-0.01"}, "NEGATIVE", ["input", "unitPrice"]),
        ({"unitPrice": "1.999"}, "TOO_MANY_DECIMALS", ["input", "unitPrice"]),
        ({"unitPrice": "1000000000000.00"}, "INVALID", ["input", "unitPrice"]),
        ({"taxRate": "1"}, "INVALID", ["input", "taxRate"]),
        ({"taxRate": "-0.05"}, "INVALID", ["input", "taxRate"]),
        ({"taxRate": "0.12345"}, "TOO_MANY_DECIMALS", ["input", "taxRate"]),
        ({"stockOnHand": -1}, "NEGATIVE", ["input", "stockOnHand"]),
    ],
)
async def test_bad_input_is_a_user_error_with_its_path_and_writes_nothing(
    writes_client, writes_settings, extra, code, field
):
    url = writes_settings.database_url
    before = _writes(url)
    payload = await mutate(writes_client, CREATE, {"input": _new(**extra)}, token(writes_settings, "admin"))
    assert payload["product"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert _writes(url) == before


async def test_update_changes_the_product_but_never_the_prices_of_existing_order_lines(writes_client, writes_settings):
    url = writes_settings.database_url
    admin, finance = token(writes_settings, "admin"), token(writes_settings, "finance")
    product = await _create(writes_client, writes_settings, unitPrice="10.00", stockOnHand=5)
    customer = sql(url, "SELECT id FROM customers WHERE org_id = 1 AND status = 'active' ORDER BY id LIMIT 1")[0][0]
    order = await mutate(
        writes_client,
        CREATE_ORDER,
        {"input": {"customerId": gid("Customer", customer), "lines": [{"productId": product["id"], "quantity": 2}]}},
        admin,
    )
    assert order["errors"] == [] and order["order"]["total"] == "20.00"
    payload = await mutate(
        writes_client,
        UPDATE,
        {
            "input": {
                "id": product["id"],
                "version": 1,
                "unitPrice": "12.50",
                "name": "Torque wrench XL",
                "description": None,
                "taxRate": "0.1",
            }
        },
        finance,
    )
    assert payload["errors"] == []
    updated = payload["product"]
    assert (updated["unitPrice"], updated["name"], updated["taxRate"], updated["version"]) == (
        "12.50",
        "Torque wrench XL",
        "0.1000",
        2,
    )
    reread = await mutate(writes_client, READ_ORDER, {"id": order["order"]["id"]}, admin)
    assert reread == {"total": "20.00", "lines": {"edges": [{"node": {"unitPrice": "10.00", "lineTotal": "20.00"}}]}}
    pk = _decode(product["id"])
    (changes,) = sql(
        url,
        "SELECT changes FROM audit_log WHERE entity_type = 'Product' AND entity_id = %s AND action = 'product.updated'",
        pk,
    )[0]
    assert changes == {
        "name": {"before": "Torque wrench", "after": "Torque wrench XL"},
        "unitPrice": {"before": "10.00", "after": "12.50"},
        "taxRate": {"before": "0.0000", "after": "0.1000"},
    }
    events = sql(
        url, "SELECT event_type, payload FROM outbox WHERE entity_type = 'Product' AND entity_id = %s ORDER BY id", pk
    )
    assert events[-1] == ("product.updated", {"sku": product["sku"], "fields": ["name", "taxRate", "unitPrice"]})


async def test_update_validates_like_create_and_refuses_nulls_for_required_fields(writes_client, writes_settings):
    url = writes_settings.database_url
    product = await _create(writes_client, writes_settings)
    before = _writes(url)
    payload = await mutate(
        writes_client,
        UPDATE,
        {
            "input": {
                "id": product["id"],
                "version": 1,
                "name": None,
                "unitPrice": "-1.00",
                "taxRate": None,
                "active": None,
            }
        },
        token(writes_settings, "admin"),
    )
    assert sorted((e["code"], e["field"][1]) for e in payload["errors"]) == [
        ("NEGATIVE", "unitPrice"),
        ("REQUIRED", "active"),
        ("REQUIRED", "name"),
        ("REQUIRED", "taxRate"),
    ]
    assert _writes(url) == before


async def test_update_needs_the_current_version_and_exactly_one_of_two_concurrent_updates_wins(
    writes_client, writes_settings
):
    url = writes_settings.database_url
    product = await _create(writes_client, writes_settings)
    admin = token(writes_settings, "admin")
    racers = await asyncio.gather(
        *[
            mutate(writes_client, UPDATE, {"input": {"id": product["id"], "version": 1, "name": f"Racer {i}"}}, admin)
            for i in range(2)
        ]
    )
    assert sorted(codes(p) for p in racers) == [[], ["CONFLICT"]]
    loser = next(p for p in racers if p["errors"])
    assert loser["product"] is None and loser["errors"][0]["field"] == ["input", "version"]
    pk = _decode(product["id"])
    assert count(url, "audit_log", "entity_type = 'Product' AND entity_id = %s AND action = 'product.updated'", pk) == 1
    assert sql(url, "SELECT version FROM products WHERE id = %s", pk) == [(2,)]


async def test_another_organizations_product_does_not_exist_for_mutations(writes_client, writes_settings):
    url = writes_settings.database_url
    foreign, version, stock = sql(
        url, "SELECT id, version, stock_on_hand FROM products WHERE org_id = 2 ORDER BY id LIMIT 1"
    )[0]
    admin = token(writes_settings, "admin")
    payload = await mutate(
        writes_client, UPDATE, {"input": {"id": gid("Product", foreign), "version": version, "name": "Taken"}}, admin
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["input", "id"])]
    adjusted = await mutate(
        writes_client, ADJUST, {"input": {"id": gid("Product", foreign), "delta": 5, "reason": "x"}}, admin
    )
    assert codes(adjusted) == ["NOT_FOUND"]
    assert sql(url, "SELECT name <> 'Taken', stock_on_hand FROM products WHERE id = %s", foreign) == [(True, stock)]


async def test_adjust_stock_moves_stock_on_hand_and_records_the_reason(writes_client, writes_settings):
    url = writes_settings.database_url
    product = await _create(writes_client, writes_settings, stockOnHand=10)
    finance = token(writes_settings, "finance")
    received = await mutate(
        writes_client, ADJUST, {"input": {"id": product["id"], "delta": 15, "reason": "Delivery 4711"}}, finance
    )
    assert received["errors"] == []
    assert (
        received["product"]["stockOnHand"],
        received["product"]["stockAvailable"],
        received["product"]["version"],
    ) == (25, 25, 2)
    counted = await mutate(
        writes_client,
        ADJUST,
        {"input": {"id": product["id"], "version": 2, "delta": -25, "reason": "Stocktaking"}},
        finance,
    )
    assert counted["errors"] == [] and counted["product"]["stockOnHand"] == 0
    pk = _decode(product["id"])
    audits = sql(
        url,
        "SELECT action, changes FROM audit_log WHERE entity_type = 'Product' AND entity_id = %s"
        " AND action = 'product.stock_adjusted' ORDER BY id",
        pk,
    )
    assert [a[1] for a in audits] == [
        {"stockOnHand": {"before": 10, "after": 25}, "delta": 15, "reason": "Delivery 4711"},
        {"stockOnHand": {"before": 25, "after": 0}, "delta": -25, "reason": "Stocktaking"},
    ]
    events = sql(
        url,
        "SELECT payload FROM outbox WHERE entity_type = 'Product' AND entity_id = %s"
        " AND event_type = 'product.stock_adjusted' ORDER BY id",
        pk,
    )
    assert [e[0] for e in events] == [
        {"sku": product["sku"], "delta": 15, "stockOnHand": 25, "reason": "Delivery 4711"},
        {"sku": product["sku"], "delta": -25, "stockOnHand": 0, "reason": "Stocktaking"},
    ]


async def test_adjust_stock_cannot_go_below_zero_or_below_the_reserved_stock(writes_client, writes_settings):
    url = writes_settings.database_url
    product = await _create(writes_client, writes_settings, stockOnHand=10)
    pk = _decode(product["id"])
    admin = token(writes_settings, "admin")
    before = _writes(url)
    below_zero = await mutate(
        writes_client, ADJUST, {"input": {"id": product["id"], "delta": -11, "reason": "Lost"}}, admin
    )
    assert [(e["code"], e["field"]) for e in below_zero["errors"]] == [("INSUFFICIENT_STOCK", ["input", "delta"])]
    # Units promised to placed orders stay in the warehouse.
    sql(url, "UPDATE products SET stock_reserved = 7 WHERE id = %s RETURNING id", pk)
    below_reserved = await mutate(
        writes_client, ADJUST, {"input": {"id": product["id"], "delta": -4, "reason": "Lost"}}, admin
    )
    assert codes(below_reserved) == ["INSUFFICIENT_STOCK"] and below_reserved["product"] is None
    assert _writes(url) == before
    assert sql(url, "SELECT stock_on_hand, stock_reserved FROM products WHERE id = %s", pk) == [(10, 7)]
    exactly = await mutate(
        writes_client, ADJUST, {"input": {"id": product["id"], "delta": -3, "reason": "Lost"}}, admin
    )
    assert exactly["product"]["stockAvailable"] == 0 and exactly["product"]["stockReserved"] == 7


@pytest.mark.parametrize(
    "change, code, field",
    [
        ({"delta": 0}, "INVALID", ["input", "delta"]),
        ({"delta": 1_000_001}, "INVALID", ["input", "delta"]),
        ({"delta": -1_000_001}, "INVALID", ["input", "delta"]),
        ({"reason": "   "}, "REQUIRED", ["input", "reason"]),
        ({"reason": "r" * 201}, "TOO_LONG", ["input", "reason"]),
        ({"version": 99}, "CONFLICT", ["input", "version"]),
        ({"id": gid("Customer", 1)}, "INVALID_ID", ["input", "id"]),
    ],
)
async def test_bad_adjustments_change_nothing(writes_client, writes_settings, change, code, field):
    url = writes_settings.database_url
    product = await _create(writes_client, writes_settings, stockOnHand=3)
    before = _writes(url)
    request = {"id": product["id"], "delta": 2, "reason": "Delivery", **change}
    payload = await mutate(writes_client, ADJUST, {"input": request}, token(writes_settings, "admin"))
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert _writes(url) == before
    assert sql(url, "SELECT stock_on_hand FROM products WHERE id = %s", _decode(product["id"])) == [(3,)]


async def test_only_admin_and_finance_change_products(writes_client, writes_settings):
    url = writes_settings.database_url
    product = await _create(writes_client, writes_settings, stockOnHand=3)
    before = _writes(url)
    for role in ("sales", "manager", "analyst", "customer"):
        updated = await mutate(
            writes_client,
            UPDATE,
            {"input": {"id": product["id"], "version": 1, "name": "x"}},
            token(writes_settings, role),
        )
        adjusted = await mutate(
            writes_client,
            ADJUST,
            {"input": {"id": product["id"], "delta": 1, "reason": "x"}},
            token(writes_settings, role),
        )
        assert codes(updated) == codes(adjusted) == ["FORBIDDEN"], role
    assert _writes(url) == before
