"""Order mutations over HTTP with real tokens: drafts and their lines, placing
(stock, credit, approval threshold, idempotency), approval, fulfilment and
cancellation; who may do what, optimistic concurrency, and the audit trail and
events (none for a refused mutation).

Totals are computed here in Decimal with the rule the service documents: tax
per line, rounded half-up to the cent."""

from __future__ import annotations

import asyncio
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.support.workflow import codes, count, gid, mutate, pk, sql, token

CENT = Decimal("0.01")
ORDER_FIELDS = """id number status version subtotal tax total note placedAt approvedAt fulfilledAt cancelledAt
  availableTransitions customer { id } salesRep { id }
  lines { edges { node { id lineNo quantity unitPrice discount taxRate lineTotal product { id } } } }"""
INPUTS = {
    "createOrder": "CreateOrderInput",
    "addOrderLine": "AddOrderLineInput",
    "updateOrderLine": "UpdateOrderLineInput",
    "removeOrderLine": "RemoveOrderLineInput",
    "placeOrder": "PlaceOrderInput",
    "approveOrder": "OrderTransitionInput",
    "fulfilOrder": "OrderTransitionInput",
    "cancelOrder": "CancelOrderInput",
}
READ = "query($id: ID!) { order(id: $id) { status version availableTransitions } }"


def _document(name: str) -> str:
    return (
        f"mutation($input: {INPUTS[name]}!) {{ {name}(input: $input) {{ order {{ {ORDER_FIELDS} }}"
        " errors { code field message } } }"
    )


async def run(client, settings, name: str, input: dict, role: str = "admin", org: str = "acme") -> dict:
    return await mutate(client, _document(name), {"input": input}, token(settings, role, org))


async def ok(client, settings, name: str, input: dict, role: str = "admin") -> dict:
    payload = await run(client, settings, name, input, role)
    assert payload["errors"] == [], payload["errors"]
    return payload["order"]


def lines_of(order: dict) -> list[dict]:
    return [edge["node"] for edge in order["lines"]["edges"]]


def expected_totals(lines: list[tuple[int, str, str, str]]) -> tuple[str, str, str]:
    """(quantity, unit price, discount, tax rate) per line → subtotal, tax, total as the API shows them."""
    subtotal = tax = Decimal("0.00")
    for quantity, price, discount, rate in lines:
        line_total = quantity * Decimal(price) - Decimal(discount)
        subtotal += line_total
        tax += (line_total * Decimal(rate)).quantize(CENT, rounding=ROUND_HALF_UP)
    return str(subtotal), str(tax), str(subtotal + tax)


async def new_product(client, settings, *, price="10.00", tax="0", stock=100, active=True) -> dict:
    payload = await mutate(
        client,
        "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id sku } errors { code } } }",
        {
            "input": {
                "sku": f"T-{uuid.uuid4().hex[:10]}",
                "name": "Test part",
                "unitPrice": price,
                "taxRate": tax,
                "stockOnHand": stock,
                "active": active,
            }
        },
        token(settings, "admin"),
    )
    assert payload["errors"] == []
    return payload["product"]


async def new_customer(client, settings, *, credit="1000000.00", manager: int | None = None, status="active") -> str:
    """A customer of acme (through the customer mutations), in ``status``."""
    admin = token(settings, "admin")
    fields = {
        "name": f"Buyer {uuid.uuid4().hex[:6]}",
        "kind": "COMPANY",
        "segment": "SMALL_BUSINESS",
        "country": "DE",
        "creditLimit": credit,
    }
    if manager is not None:
        fields["accountManagerId"] = gid("Employee", manager)
    created = await mutate(
        client,
        "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } errors { code } } }",
        {"input": fields},
        admin,
    )
    assert created["errors"] == []
    customer = created["customer"]["id"]
    steps = {"lead": [], "active": ["activateCustomer"], "inactive": ["activateCustomer", "deactivateCustomer"]}[status]
    for step in steps:
        moved = await mutate(
            client,
            f"mutation($input: CustomerTransitionInput!) {{ {step}(input: $input) {{ errors {{ code }} }} }}",
            {"input": {"id": customer}},
            admin,
        )
        assert moved["errors"] == []
    return customer


def employee_of(url, role: str) -> int:
    return sql(url, "SELECT employee_id FROM users WHERE email = %s", f"{role}@acme.example")[0][0]


def footprint(url) -> tuple:
    """Everything an order command may write."""
    return (
        count(url, "orders"),
        count(url, "order_lines"),
        count(url, "audit_log"),
        count(url, "outbox"),
        count(url, "idempotency_keys"),
        sql(url, "SELECT sum(stock_on_hand), sum(stock_reserved), sum(version) FROM products")[0],
        sql(url, "SELECT sum(version) FROM orders")[0][0],
    )


def stock_of(url, product: dict) -> tuple[int, int]:
    return sql(url, "SELECT stock_on_hand, stock_reserved FROM products WHERE id = %s", pk(product["id"], "Product"))[0]


def events_of(url, order: dict) -> list[str]:
    return [
        row[0]
        for row in sql(
            url,
            "SELECT event_type FROM outbox WHERE entity_type = 'Order' AND entity_id = %s ORDER BY id",
            pk(order["id"], "Order"),
        )
    ]


def audits_of(url, order: dict) -> list[str]:
    return [
        row[0]
        for row in sql(
            url,
            "SELECT action FROM audit_log WHERE entity_type = 'Order' AND entity_id = %s ORDER BY id",
            pk(order["id"], "Order"),
        )
    ]


@pytest.fixture(scope="module")
async def catalog(writes_client, writes_settings):
    """Products with prices and rates whose tax rounding tells half-up from half-even."""
    make = lambda **kw: new_product(writes_client, writes_settings, **kw)  # noqa: E731
    return {
        "wrench": await make(price="19.99", tax="0.19"),
        "bolt": await make(price="10.10", tax="0.05"),  # 10.10 × 0.05 = 0.505: half-up 0.51, half-even 0.50
        "washer": await make(price="0.35", tax="0.075"),
        "retired": await make(price="5.00", active=False),
        "foreign": sql(writes_settings.database_url, "SELECT id FROM products WHERE org_id = 2 AND active LIMIT 1")[0][
            0
        ],
    }


@pytest.fixture(scope="module")
async def buyer(writes_client, writes_settings):
    return await new_customer(writes_client, writes_settings)


# --- drafts -----------------------------------------------------------------------------------------


async def test_create_draft_prices_the_lines_and_adds_up_the_totals(writes_client, writes_settings, catalog, buyer):
    url = writes_settings.database_url
    order = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {
            "customerId": buyer,
            "note": "  deliver to gate 3 ",
            "lines": [
                {"productId": catalog["wrench"]["id"], "quantity": 3, "discount": "1.50"},
                {"productId": catalog["bolt"]["id"], "quantity": 1},
                {"productId": catalog["washer"]["id"], "quantity": 7, "discount": "0.05"},
            ],
        },
    )
    subtotal, tax, total = expected_totals(
        [(3, "19.99", "1.50", "0.19"), (1, "10.10", "0", "0.05"), (7, "0.35", "0.05", "0.075")]
    )
    assert (order["subtotal"], order["tax"], order["total"]) == (subtotal, tax, total) == ("70.97", "11.80", "82.77")
    assert order["status"] == "DRAFT" and order["version"] == 1 and order["note"] == "deliver to gate 3"
    assert order["number"].startswith("SO-") and len(order["number"]) == 10
    assert order["placedAt"] is None and order["salesRep"] is None and order["customer"] == {"id": buyer}
    assert order["availableTransitions"] == ["EDIT", "PLACE", "CANCEL"]
    assert [
        (line["lineNo"], line["quantity"], line["unitPrice"], line["discount"], line["taxRate"], line["lineTotal"])
        for line in lines_of(order)
    ] == [
        (1, 3, "19.99", "1.50", "0.1900", "58.47"),
        (2, 1, "10.10", "0.00", "0.0500", "10.10"),
        (3, 7, "0.35", "0.05", "0.0750", "2.40"),
    ]
    assert sql(url, "SELECT sum(line_total) FROM order_lines WHERE order_id = %s", pk(order["id"], "Order")) == [
        (Decimal("70.97"),)
    ]
    assert audits_of(url, order) == ["order.created"]
    (changes,) = sql(
        url, "SELECT changes FROM audit_log WHERE entity_type = 'Order' AND entity_id = %s", pk(order["id"], "Order")
    )[0]
    assert changes["total"] == {"before": None, "after": "82.77"} and len(changes["lines"]["after"]) == 3
    (event,) = sql(
        url,
        "SELECT event_type, payload FROM outbox WHERE entity_type = 'Order' AND entity_id = %s",
        pk(order["id"], "Order"),
    )
    assert event == ("order.created", {"number": order["number"], "status": "draft", "total": "82.77", "lines": 3})


async def test_an_empty_draft_and_numbers_that_never_collide(writes_client, writes_settings, buyer):
    made = await asyncio.gather(
        *[ok(writes_client, writes_settings, "createOrder", {"customerId": buyer}) for _ in range(6)]
    )
    assert len({o["number"] for o in made}) == 6
    assert all((o["total"], o["availableTransitions"]) == ("0.00", ["EDIT", "CANCEL"]) for o in made)


@pytest.mark.parametrize(
    "case, code, field",
    [
        ("customer_bad_id", "INVALID_ID", ["input", "customerId"]),
        ("customer_foreign", "NOT_FOUND", ["input", "customerId"]),
        ("customer_inactive", "CUSTOMER_NOT_ACTIVE", ["input", "customerId"]),
        ("product_foreign", "NOT_FOUND", ["input", "lines", "1", "productId"]),
        ("product_inactive", "PRODUCT_INACTIVE", ["input", "lines", "1", "productId"]),
        ("quantity_zero", "NOT_POSITIVE", ["input", "lines", "1", "quantity"]),
        ("quantity_huge", "INVALID", ["input", "lines", "1", "quantity"]),
        ("discount_negative", "NEGATIVE", ["input", "lines", "1", "discount"]),
        ("discount_cents", "TOO_MANY_DECIMALS", ["input", "lines", "1", "discount"]),
        ("discount_above_gross", "INVALID", ["input", "lines", "1", "discount"]),
        ("note_long", "TOO_LONG", ["input", "note"]),
        ("rep_foreign", "NOT_FOUND", ["input", "salesRepId"]),
    ],
)
async def test_bad_drafts_are_refused_with_the_path_and_write_nothing(
    writes_client, writes_settings, catalog, buyer, case, code, field
):
    url = writes_settings.database_url
    good = {"productId": catalog["bolt"]["id"], "quantity": 2}
    line = dict(good)
    request = {"customerId": buyer}
    if case == "customer_bad_id":
        request["customerId"] = gid("Product", 1)
    elif case == "customer_foreign":
        request["customerId"] = gid(
            "Customer", sql(url, "SELECT id FROM customers WHERE org_id = 2 AND status = 'active' LIMIT 1")[0][0]
        )
    elif case == "customer_inactive":
        request["customerId"] = await new_customer(writes_client, writes_settings, status="inactive")
    elif case == "product_foreign":
        line["productId"] = gid("Product", catalog["foreign"])
    elif case == "product_inactive":
        line["productId"] = catalog["retired"]["id"]
    elif case == "quantity_zero":
        line["quantity"] = 0
    elif case == "quantity_huge":
        line["quantity"] = 1_000_001
    elif case == "discount_negative":
        line["discount"] = "-1.00"
    elif case == "discount_cents":
        line["discount"] = "0.005"
    elif case == "discount_above_gross":
        line["discount"] = "20.21"  # 2 × 10.10 = 20.20
    elif case == "note_long":
        request["note"] = "n" * 2001
    elif case == "rep_foreign":
        request["salesRepId"] = gid("Employee", sql(url, "SELECT id FROM employees WHERE org_id = 2 LIMIT 1")[0][0])
    request["lines"] = [good, line]
    before = footprint(url)
    payload = await run(writes_client, writes_settings, "createOrder", request)
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert footprint(url) == before


async def test_every_problem_of_a_draft_is_reported_at_once(writes_client, writes_settings, catalog):
    url = writes_settings.database_url
    foreign_customer = sql(url, "SELECT id FROM customers WHERE org_id = 2 LIMIT 1")[0][0]
    payload = await run(
        writes_client,
        writes_settings,
        "createOrder",
        {
            "customerId": gid("Customer", foreign_customer),
            "lines": [
                {"productId": catalog["retired"]["id"], "quantity": 1},
                {"productId": catalog["bolt"]["id"], "quantity": -1},
            ],
        },
    )
    assert sorted((e["code"], tuple(e["field"])) for e in payload["errors"]) == [
        ("NOT_FOUND", ("input", "customerId")),
        ("NOT_POSITIVE", ("input", "lines", "1", "quantity")),
        ("PRODUCT_INACTIVE", ("input", "lines", "0", "productId")),
    ]


async def test_sales_orders_for_its_own_accounts_only_and_roles_without_order_rights_are_forbidden(
    writes_client, writes_settings, catalog, buyer
):
    url = writes_settings.database_url
    rep = employee_of(url, "sales")
    own = await new_customer(writes_client, writes_settings, manager=rep)
    mine = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": own, "lines": [{"productId": catalog["bolt"]["id"], "quantity": 1}]},
        role="sales",
    )
    assert mine["salesRep"] == {"id": gid("Employee", rep)}
    assert mine["availableTransitions"] == ["EDIT", "PLACE", "CANCEL"]
    # ``buyer`` has no account manager: for the rep it does not exist.
    theirs = await run(writes_client, writes_settings, "createOrder", {"customerId": buyer}, role="sales")
    assert [(e["code"], e["field"]) for e in theirs["errors"]] == [("NOT_FOUND", ["input", "customerId"])]
    admins = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": buyer, "lines": [{"productId": catalog["bolt"]["id"], "quantity": 1}]},
    )
    before = footprint(url)
    for name, request in [
        ("placeOrder", {"id": admins["id"]}),
        ("addOrderLine", {"orderId": admins["id"], "productId": catalog["bolt"]["id"], "quantity": 1}),
        ("updateOrderLine", {"lineId": lines_of(admins)[0]["id"], "quantity": 5}),
        ("cancelOrder", {"id": admins["id"]}),
    ]:
        hidden = await run(writes_client, writes_settings, name, request, role="sales")
        assert codes(hidden) == ["NOT_FOUND"], name
    for role in ("finance", "hr", "manager", "analyst", "employee", "customer"):
        refused = await run(writes_client, writes_settings, "createOrder", {"customerId": buyer}, role=role)
        assert codes(refused) == ["FORBIDDEN"], role
    for role in ("finance", "hr", "analyst"):
        refused = await run(writes_client, writes_settings, "placeOrder", {"id": admins["id"]}, role=role)
        assert codes(refused) == ["FORBIDDEN"], role
    assert footprint(url) == before


# --- editing lines ----------------------------------------------------------------------------------


async def test_line_edits_recompute_the_totals_and_bump_the_version(writes_client, writes_settings, catalog, buyer):
    url = writes_settings.database_url
    order = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": buyer, "lines": [{"productId": catalog["wrench"]["id"], "quantity": 1}]},
    )
    added = await ok(
        writes_client,
        writes_settings,
        "addOrderLine",
        {"orderId": order["id"], "version": 1, "productId": catalog["bolt"]["id"], "quantity": 3, "discount": "0.30"},
    )
    assert added["version"] == 2 and [line["lineNo"] for line in lines_of(added)] == [1, 2]
    assert (added["subtotal"], added["tax"], added["total"]) == expected_totals(
        [(1, "19.99", "0", "0.19"), (3, "10.10", "0.30", "0.05")]
    )
    bolt_line = lines_of(added)[1]["id"]
    changed = await ok(
        writes_client,
        writes_settings,
        "updateOrderLine",
        {"lineId": bolt_line, "version": 2, "quantity": 5, "discount": None},
    )
    assert changed["version"] == 3 and lines_of(changed)[1]["discount"] == "0.00"
    assert (changed["subtotal"], changed["tax"], changed["total"]) == expected_totals(
        [(1, "19.99", "0", "0.19"), (5, "10.10", "0", "0.05")]
    )
    removed = await ok(
        writes_client, writes_settings, "removeOrderLine", {"lineId": lines_of(changed)[0]["id"], "version": 3}
    )
    assert removed["version"] == 4 and [line["lineNo"] for line in lines_of(removed)] == [2]
    assert (removed["subtotal"], removed["tax"], removed["total"]) == ("50.50", "2.53", "53.03")
    again = await ok(
        writes_client,
        writes_settings,
        "addOrderLine",
        {"orderId": order["id"], "productId": catalog["washer"]["id"], "quantity": 1},
    )
    assert [line["lineNo"] for line in lines_of(again)] == [2, 3]  # numbers are never reused
    assert sql(url, "SELECT total = subtotal + tax, version FROM orders WHERE id = %s", pk(order["id"], "Order")) == [
        (True, 5)
    ]
    assert audits_of(url, order) == [
        "order.created",
        "order.line_added",
        "order.line_updated",
        "order.line_removed",
        "order.line_added",
    ]
    assert events_of(url, order) == ["order.created"] + ["order.updated"] * 4
    (update_audit,) = sql(
        url,
        "SELECT changes FROM audit_log WHERE entity_type = 'Order' AND entity_id = %s"
        " AND action = 'order.line_updated'",
        pk(order["id"], "Order"),
    )[0]
    assert update_audit["line"]["before"]["quantity"] == 3 and update_audit["line"]["after"]["quantity"] == 5


async def test_bad_line_edits_change_nothing(writes_client, writes_settings, catalog, buyer):
    url = writes_settings.database_url
    order = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": buyer, "lines": [{"productId": catalog["bolt"]["id"], "quantity": 2}]},
    )
    line = lines_of(order)[0]["id"]
    foreign_line = sql(url, "SELECT id FROM order_lines WHERE org_id = 2 LIMIT 1")[0][0]
    foreign_order = sql(url, "SELECT id FROM orders WHERE org_id = 2 AND status = 'draft' LIMIT 1")[0][0]
    before = footprint(url)
    cases = [
        (
            "addOrderLine",
            {"orderId": order["id"], "version": 7, "productId": catalog["bolt"]["id"], "quantity": 1},
            ("CONFLICT", ["input", "version"]),
        ),
        (
            "addOrderLine",
            {"orderId": order["id"], "productId": catalog["retired"]["id"], "quantity": 1},
            ("PRODUCT_INACTIVE", ["input", "productId"]),
        ),
        (
            "addOrderLine",
            {"orderId": order["id"], "productId": gid("Product", catalog["foreign"]), "quantity": 1},
            ("NOT_FOUND", ["input", "productId"]),
        ),
        (
            "addOrderLine",
            {"orderId": gid("Order", foreign_order), "productId": catalog["bolt"]["id"], "quantity": 1},
            ("NOT_FOUND", ["input", "orderId"]),
        ),
        (
            "updateOrderLine",
            {"lineId": gid("OrderLine", foreign_line), "quantity": 1},
            ("NOT_FOUND", ["input", "lineId"]),
        ),
        ("updateOrderLine", {"lineId": line, "discount": "20.21"}, ("INVALID", ["input", "discount"])),
        ("updateOrderLine", {"lineId": line, "quantity": 0}, ("NOT_POSITIVE", ["input", "quantity"])),
        ("updateOrderLine", {"lineId": line, "version": 0, "quantity": 1}, ("CONFLICT", ["input", "version"])),
        ("removeOrderLine", {"lineId": gid("OrderLine", foreign_line)}, ("NOT_FOUND", ["input", "lineId"])),
        ("removeOrderLine", {"lineId": order["id"]}, ("INVALID_ID", ["input", "lineId"])),
    ]
    for name, request, expected in cases:
        payload = await run(writes_client, writes_settings, name, request)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [expected], (name, request)
        assert payload["order"] is None
    assert footprint(url) == before


async def test_lines_change_only_on_drafts(writes_client, writes_settings, catalog, buyer):
    url = writes_settings.database_url
    order = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": buyer, "lines": [{"productId": catalog["bolt"]["id"], "quantity": 1}]},
    )
    placed = await ok(writes_client, writes_settings, "placeOrder", {"id": order["id"]})
    line = lines_of(placed)[0]["id"]
    before = footprint(url)
    for name, request in [
        ("addOrderLine", {"orderId": order["id"], "productId": catalog["bolt"]["id"], "quantity": 1}),
        ("updateOrderLine", {"lineId": line, "quantity": 2}),
        ("removeOrderLine", {"lineId": line}),
    ]:
        payload = await run(writes_client, writes_settings, name, request)
        assert codes(payload) == ["INVALID_TRANSITION"], name
    assert footprint(url) == before


# --- placing ----------------------------------------------------------------------------------------


async def test_placing_reserves_stock_and_approves_up_to_the_threshold(writes_client, writes_settings, buyer):
    url = writes_settings.database_url
    part = await new_product(writes_client, writes_settings, price="25.00", tax="0.20", stock=40)
    small = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {
            "customerId": buyer,
            "lines": [{"productId": part["id"], "quantity": 1}, {"productId": part["id"], "quantity": 1}],  # 60.00
        },
    )
    large = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": buyer, "lines": [{"productId": part["id"], "quantity": 3}]},
    )  # 90.00
    (threshold,) = sql(url, "SELECT order_approval_threshold FROM organizations WHERE id = 1")[0]
    sql(url, "UPDATE organizations SET order_approval_threshold = 60.00 WHERE id = 1 RETURNING id")
    try:
        approved = await ok(writes_client, writes_settings, "placeOrder", {"id": small["id"], "version": 1})
        waiting = await ok(writes_client, writes_settings, "placeOrder", {"id": large["id"]})
    finally:
        sql(url, "UPDATE organizations SET order_approval_threshold = %s WHERE id = 1 RETURNING id", threshold)
    assert approved["total"] == "60.00" and approved["status"] == "APPROVED" and approved["version"] == 2
    assert approved["placedAt"] is not None and approved["approvedAt"] is not None
    assert waiting["total"] == "90.00" and waiting["status"] == "PLACED" and waiting["approvedAt"] is None
    assert waiting["availableTransitions"] == ["APPROVE", "CANCEL"]
    assert approved["availableTransitions"] == ["FULFIL", "CANCEL", "INVOICE"]
    assert stock_of(url, part) == (40, 5)
    assert events_of(url, small) == ["order.created", "order.placed", "order.approved"]
    assert events_of(url, large) == ["order.created", "order.placed"]
    assert audits_of(url, small) == ["order.created", "order.placed"]
    (payload,) = sql(
        url,
        "SELECT payload FROM outbox WHERE entity_type = 'Order' AND entity_id = %s AND event_type = 'order.approved'",
        pk(small["id"], "Order"),
    )[0]
    assert payload == {"number": small["number"], "status": "approved", "total": "60.00", "automatic": True}


async def test_insufficient_stock_refuses_the_placement_and_names_each_short_product(
    writes_client, writes_settings, buyer
):
    url = writes_settings.database_url
    scarce = await new_product(writes_client, writes_settings, stock=5)
    half_reserved = await new_product(writes_client, writes_settings, stock=4)
    plenty = await new_product(writes_client, writes_settings, stock=50)
    sql(url, "UPDATE products SET stock_reserved = 2 WHERE id = %s RETURNING id", pk(half_reserved["id"], "Product"))
    order = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {
            "customerId": buyer,
            "lines": [
                {"productId": plenty["id"], "quantity": 1},
                {"productId": scarce["id"], "quantity": 3},
                {"productId": half_reserved["id"], "quantity": 3},  # 4 on hand, 2 reserved: 2 available
                {"productId": scarce["id"], "quantity": 3},  # 6 of scarce in all, 5 on hand
            ],
        },
    )
    before = footprint(url)
    payload = await run(writes_client, writes_settings, "placeOrder", {"id": order["id"], "version": 1})
    assert payload["order"] is None
    assert sorted((e["code"], e["field"][2], e["message"]) for e in payload["errors"]) == [
        ("INSUFFICIENT_STOCK", "1", f"{scarce['sku']}: 6 ordered, 5 available"),
        ("INSUFFICIENT_STOCK", "2", f"{half_reserved['sku']}: 3 ordered, 2 available"),
    ]
    assert footprint(url) == before
    assert (await mutate(writes_client, READ, {"id": order["id"]}, token(writes_settings, "admin")))[
        "status"
    ] == "DRAFT"


async def test_the_credit_limit_counts_open_invoices_and_an_invoiced_order_cannot_be_cancelled(
    writes_client, writes_settings
):
    url = writes_settings.database_url
    hundred = await new_product(writes_client, writes_settings, price="100.00", stock=100)
    cent = await new_product(writes_client, writes_settings, price="0.01", stock=100)
    customer = await new_customer(writes_client, writes_settings, credit="1000.00")
    first = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": customer, "lines": [{"productId": hundred["id"], "quantity": 6}]},
    )
    first = await ok(writes_client, writes_settings, "placeOrder", {"id": first["id"]})
    # Its invoice, 600.00 with 100.00 paid: 500.00 still open.
    sql(
        url,
        "INSERT INTO invoices (org_id, number, year, seq, order_id, customer_id, status, issued_at, due_at,"
        " subtotal, tax, total, amount_paid)"
        " SELECT 1, 'INV-1990-' || lpad(s::text, 6, '0'), 1990, s, %s, customer_id, 'issued', now(),"
        " now() + interval '30 days', 600, 0, 600, 100"
        " FROM orders, (SELECT COALESCE(max(seq), 0) + 1 AS s FROM invoices WHERE org_id = 1 AND year = 1990) n"
        " WHERE orders.id = %s RETURNING id",
        pk(first["id"], "Order"),
        pk(first["id"], "Order"),
    )
    second = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {
            "customerId": customer,
            "lines": [
                {"productId": hundred["id"], "quantity": 5},
                {"productId": cent["id"], "quantity": 1},
            ],
        },
    )
    before = footprint(url)
    over = await run(writes_client, writes_settings, "placeOrder", {"id": second["id"]}, role="admin")
    assert [(e["code"], e["field"]) for e in over["errors"]] == [("CREDIT_LIMIT_EXCEEDED", None)]
    assert footprint(url) == before
    trimmed = await ok(writes_client, writes_settings, "removeOrderLine", {"lineId": lines_of(second)[1]["id"]})
    assert trimmed["total"] == "500.00"
    placed = await ok(writes_client, writes_settings, "placeOrder", {"id": second["id"]})  # exactly at the limit
    assert placed["status"] == "APPROVED"
    # The first order has a live invoice: no more CANCEL.
    state = await mutate(writes_client, READ, {"id": first["id"]}, token(writes_settings, "finance"))
    assert state["availableTransitions"] == []
    before = footprint(url)
    refused = await run(writes_client, writes_settings, "cancelOrder", {"id": first["id"]}, role="finance")
    assert codes(refused) == ["INVALID_TRANSITION"]
    assert footprint(url) == before


async def test_placing_needs_lines_and_an_active_customer(writes_client, writes_settings, catalog):
    url = writes_settings.database_url
    lead = await new_customer(writes_client, writes_settings, status="lead")
    empty = await ok(writes_client, writes_settings, "createOrder", {"customerId": lead})
    with_lines = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": lead, "lines": [{"productId": catalog["bolt"]["id"], "quantity": 1}]},
    )
    assert with_lines["availableTransitions"] == ["EDIT", "CANCEL"]
    before = footprint(url)
    assert codes(await run(writes_client, writes_settings, "placeOrder", {"id": empty["id"]})) == ["EMPTY_ORDER"]
    assert codes(await run(writes_client, writes_settings, "placeOrder", {"id": with_lines["id"]})) == [
        "CUSTOMER_NOT_ACTIVE"
    ]
    assert footprint(url) == before


async def test_a_stale_version_conflicts_and_of_two_concurrent_placements_exactly_one_wins(
    writes_client, writes_settings, buyer
):
    url = writes_settings.database_url
    part = await new_product(writes_client, writes_settings, stock=10)
    order = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": buyer, "lines": [{"productId": part["id"], "quantity": 4}]},
    )
    await ok(
        writes_client, writes_settings, "addOrderLine", {"orderId": order["id"], "productId": part["id"], "quantity": 1}
    )
    stale = await run(writes_client, writes_settings, "placeOrder", {"id": order["id"], "version": 1})
    assert [(e["code"], e["field"]) for e in stale["errors"]] == [("CONFLICT", ["input", "version"])]
    racers = await asyncio.gather(
        *[run(writes_client, writes_settings, "placeOrder", {"id": order["id"], "version": 2}) for _ in range(2)]
    )
    assert sorted(codes(p) for p in racers) == [[], ["CONFLICT"]]
    assert stock_of(url, part) == (10, 5)
    assert audits_of(url, order).count("order.placed") == 1
    unversioned = await run(writes_client, writes_settings, "placeOrder", {"id": order["id"]})
    assert codes(unversioned) == ["INVALID_TRANSITION"]


async def test_placing_with_an_idempotency_key_places_once(writes_client, writes_settings, buyer):
    url = writes_settings.database_url
    part = await new_product(writes_client, writes_settings, stock=30)

    def make():
        return ok(
            writes_client,
            writes_settings,
            "createOrder",
            {"customerId": buyer, "lines": [{"productId": part["id"], "quantity": 2}]},
        )

    order, other = await make(), await make()
    key = f"place-{uuid.uuid4()}"
    first = await ok(
        writes_client, writes_settings, "placeOrder", {"id": order["id"], "version": 1, "idempotencyKey": key}
    )
    repeat = await ok(
        writes_client, writes_settings, "placeOrder", {"id": order["id"], "version": 1, "idempotencyKey": key}
    )
    assert repeat == first and repeat["status"] == "APPROVED" and repeat["version"] == 2
    assert stock_of(url, part) == (30, 2)
    before = footprint(url)
    reused = await run(writes_client, writes_settings, "placeOrder", {"id": other["id"], "idempotencyKey": key})
    assert [(e["code"], e["field"]) for e in reused["errors"]] == [
        ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    ]
    assert footprint(url) == before
    # Ten clients retrying at once: one placement, ten answers with the same order.
    key = f"place-{uuid.uuid4()}"
    answers = await asyncio.gather(
        *[
            run(writes_client, writes_settings, "placeOrder", {"id": other["id"], "idempotencyKey": key})
            for _ in range(10)
        ]
    )
    assert all(a["errors"] == [] for a in answers), [a["errors"] for a in answers]
    assert {a["order"]["id"] for a in answers} == {other["id"]} and {a["order"]["version"] for a in answers} == {2}
    assert stock_of(url, part) == (30, 4)
    assert audits_of(url, other) == ["order.created", "order.placed"]
    assert events_of(url, other) == ["order.created", "order.placed", "order.approved"]
    assert count(url, "idempotency_keys", "key = %s AND entity_id = %s", key, pk(other["id"], "Order")) == 1


# --- approval, fulfilment, cancellation ---------------------------------------------------------------


async def _placed_above_threshold(client, settings, customer, product, rep: int | None = None) -> dict:
    """A placed order waiting for approval: its total is above acme's threshold (10,000.00)."""
    request = {"customerId": customer, "lines": [{"productId": product["id"], "quantity": 3}]}
    if rep is not None:
        request["salesRepId"] = gid("Employee", rep)
    order = await ok(client, settings, "createOrder", request)
    placed = await ok(client, settings, "placeOrder", {"id": order["id"]})
    assert placed["status"] == "PLACED", placed
    return placed


async def test_finance_approves_and_fulfilment_moves_the_stock(writes_client, writes_settings, buyer):
    url = writes_settings.database_url
    machine = await new_product(writes_client, writes_settings, price="4000.00", stock=7)
    order = await _placed_above_threshold(writes_client, writes_settings, buyer, machine)
    assert stock_of(url, machine) == (7, 3)
    early = await run(writes_client, writes_settings, "fulfilOrder", {"id": order["id"]})
    assert codes(early) == ["INVALID_TRANSITION"]
    assert codes(await run(writes_client, writes_settings, "approveOrder", {"id": order["id"]}, role="sales")) == [
        "FORBIDDEN"
    ]
    approved = await ok(
        writes_client, writes_settings, "approveOrder", {"id": order["id"], "version": 2}, role="finance"
    )
    assert approved["status"] == "APPROVED" and approved["approvedAt"] is not None and approved["version"] == 3
    assert codes(await run(writes_client, writes_settings, "fulfilOrder", {"id": order["id"]}, role="finance")) == [
        "FORBIDDEN"
    ]
    fulfilled = await ok(writes_client, writes_settings, "fulfilOrder", {"id": order["id"], "version": 3})
    assert fulfilled["status"] == "FULFILLED" and fulfilled["fulfilledAt"] is not None
    assert fulfilled["availableTransitions"] == ["INVOICE"]
    assert stock_of(url, machine) == (4, 0)
    assert codes(await run(writes_client, writes_settings, "cancelOrder", {"id": order["id"]})) == [
        "INVALID_TRANSITION"
    ]
    assert events_of(url, order) == ["order.created", "order.placed", "order.approved", "order.fulfilled"]
    assert audits_of(url, order) == ["order.created", "order.placed", "order.approved", "order.fulfilled"]
    (changes,) = sql(
        url,
        "SELECT changes FROM audit_log WHERE entity_type = 'Order' AND entity_id = %s AND action = 'order.fulfilled'",
        pk(order["id"], "Order"),
    )[0]
    assert changes["status"] == {"before": "approved", "after": "fulfilled"}


def _reports_of(url, manager: int) -> list[int]:
    return [
        row[0]
        for row in sql(
            url,
            "WITH RECURSIVE chain(id) AS (SELECT id FROM employees WHERE manager_id = %s"
            " UNION SELECT e.id FROM employees e JOIN chain ON e.manager_id = chain.id)"
            " SELECT id FROM chain ORDER BY id",
            manager,
        )
    ]


async def test_a_manager_approves_the_orders_of_its_reports_only(writes_client, writes_settings, buyer):
    from app.auth import policy

    if not hasattr(policy, "TEAM_SALES"):
        pytest.skip("the TEAM_SALES read scope (managers see their reports' orders) is not in app/auth/policy.py yet")
    url = writes_settings.database_url
    machine = await new_product(writes_client, writes_settings, price="4000.00", stock=10)
    manager = employee_of(url, "manager")
    reports = _reports_of(url, manager)
    outsider = sql(
        url,
        "SELECT id FROM employees WHERE org_id = 1 AND id <> ALL(%s) AND id <> %s ORDER BY id LIMIT 1",
        reports,
        manager,
    )[0][0]
    team = await _placed_above_threshold(writes_client, writes_settings, buyer, machine, rep=reports[-1])
    other = await _placed_above_threshold(writes_client, writes_settings, buyer, machine, rep=outsider)
    seen = await mutate(writes_client, READ, {"id": team["id"]}, token(writes_settings, "manager"))
    assert seen["availableTransitions"] == ["APPROVE"]
    before = footprint(url)
    hidden = await run(writes_client, writes_settings, "approveOrder", {"id": other["id"]}, role="manager")
    assert [(e["code"], e["field"]) for e in hidden["errors"]] == [("NOT_FOUND", ["input", "id"])]
    assert codes(await run(writes_client, writes_settings, "cancelOrder", {"id": team["id"]}, role="manager")) == [
        "FORBIDDEN"
    ]
    assert footprint(url) == before
    approved = await ok(writes_client, writes_settings, "approveOrder", {"id": team["id"]}, role="manager")
    assert approved["status"] == "APPROVED"
    (actor,) = sql(
        url,
        "SELECT actor FROM audit_log WHERE entity_type = 'Order' AND entity_id = %s AND action = 'order.approved'",
        pk(team["id"], "Order"),
    )[0]
    assert actor == "manager@acme.example"


async def test_cancelling_releases_reserved_stock(writes_client, writes_settings, buyer):
    url = writes_settings.database_url
    part = await new_product(writes_client, writes_settings, price="1.00", stock=20)
    machine = await new_product(writes_client, writes_settings, price="4000.00", stock=5)
    draft = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": buyer, "lines": [{"productId": part["id"], "quantity": 2}]},
    )
    approved = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": buyer, "lines": [{"productId": part["id"], "quantity": 6}]},
    )
    approved = await ok(writes_client, writes_settings, "placeOrder", {"id": approved["id"]})
    placed = await _placed_above_threshold(writes_client, writes_settings, buyer, machine)
    assert stock_of(url, part) == (20, 6) and stock_of(url, machine) == (5, 3)
    before = footprint(url)
    too_long = await run(writes_client, writes_settings, "cancelOrder", {"id": draft["id"], "reason": "r" * 501})
    assert [(e["code"], e["field"]) for e in too_long["errors"]] == [("TOO_LONG", ["input", "reason"])]
    assert footprint(url) == before
    cancelled = await ok(
        writes_client, writes_settings, "cancelOrder", {"id": draft["id"], "version": 1, "reason": "Duplicate"}
    )
    assert (
        cancelled["status"] == "CANCELLED"
        and cancelled["cancelledAt"] is not None
        and cancelled["availableTransitions"] == []
    )
    assert stock_of(url, part) == (20, 6)  # a draft reserved nothing
    await ok(writes_client, writes_settings, "cancelOrder", {"id": approved["id"]}, role="finance")
    assert stock_of(url, part) == (20, 0)
    await ok(
        writes_client, writes_settings, "cancelOrder", {"id": placed["id"], "reason": "Customer changed their mind"}
    )
    assert stock_of(url, machine) == (5, 0)
    assert events_of(url, placed) == ["order.created", "order.placed", "order.cancelled"]
    (changes,) = sql(
        url,
        "SELECT changes FROM audit_log WHERE entity_type = 'Order' AND entity_id = %s AND action = 'order.cancelled'",
        pk(placed["id"], "Order"),
    )[0]
    assert changes["status"] == {"before": "placed", "after": "cancelled"}
    assert changes["reason"] == "Customer changed their mind"
    assert codes(await run(writes_client, writes_settings, "cancelOrder", {"id": placed["id"]})) == [
        "INVALID_TRANSITION"
    ]


async def test_available_transitions_follow_the_role_and_the_state(writes_client, writes_settings, catalog):
    url = writes_settings.database_url
    rep = employee_of(url, "sales")
    own = await new_customer(writes_client, writes_settings, manager=rep)
    machine = await new_product(writes_client, writes_settings, price="4000.00", stock=10)
    draft = await ok(
        writes_client,
        writes_settings,
        "createOrder",
        {"customerId": own, "lines": [{"productId": machine["id"], "quantity": 3}]},
        role="sales",
    )

    async def seen(order, role):
        return (await mutate(writes_client, READ, {"id": order["id"]}, token(writes_settings, role)))[
            "availableTransitions"
        ]

    async def hidden(order, role):
        result = await writes_client.post(
            "/graphql",
            json={"query": READ, "variables": {"id": order["id"]}},
            headers={"Authorization": f"Bearer {token(writes_settings, role)}"},
        )
        return result.json()["data"]["order"] is None

    assert [await seen(draft, r) for r in ("admin", "sales", "finance", "analyst")] == [
        ["EDIT", "PLACE", "CANCEL"],
        ["EDIT", "PLACE", "CANCEL"],
        ["CANCEL"],
        [],
    ]
    placed = await ok(writes_client, writes_settings, "placeOrder", {"id": draft["id"]}, role="sales")
    assert placed["status"] == "PLACED"
    assert [await seen(draft, r) for r in ("admin", "sales", "finance")] == [
        ["APPROVE", "CANCEL"],
        ["CANCEL"],
        ["APPROVE", "CANCEL"],
    ]
    await ok(writes_client, writes_settings, "approveOrder", {"id": draft["id"]}, role="finance")
    assert [await seen(draft, r) for r in ("admin", "sales", "finance")] == [
        ["FULFIL", "CANCEL", "INVOICE"],
        ["FULFIL", "CANCEL"],
        ["CANCEL", "INVOICE"],
    ]
    fulfilled = await ok(writes_client, writes_settings, "fulfilOrder", {"id": draft["id"]}, role="sales")
    assert fulfilled["availableTransitions"] == []  # sales may not invoice
    assert await hidden(draft, "hr") and await hidden(draft, "employee")
