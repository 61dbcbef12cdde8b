"""Product commands: create, update, and stock adjustments (roles: ``COMMANDS`` in app/workflows.py).

Products have no lifecycle: ``active`` only says whether new order lines may use
them. Order lines copy the price and tax rate when they are written, so a price
change here never touches an existing order.
"""

from __future__ import annotations

from typing import Any

from app.errors import CommandError
from app.workflows import COMMANDS
from resolvers.writes.checks import Checks, not_found
from resolvers.writes.lifecycle import check_version, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Row, WriteSession, changes

# API field → column, for the fields a client may set.
COLUMNS = {
    "sku": "sku",
    "name": "name",
    "description": "description",
    "unitPrice": "unit_price",
    "taxRate": "tax_rate",
    "stockOnHand": "stock_on_hand",
    "active": "active",
}
MAX_STOCK = 1_000_000_000  # well inside the INTEGER column, with room for adjustments
MAX_ADJUSTMENT = 1_000_000


def _details(checks: Checks, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The checked values of the fields sent, by API field name."""
    values: dict[str, Any] = {}
    if creating:
        values["sku"] = checks.text(("input", "sku"), data.get("sku"), max_length=64, required=True)
    if "name" in data or creating:
        values["name"] = checks.text(("input", "name"), data.get("name"), max_length=200, required=True)
    if "description" in data:
        values["description"] = checks.text(("input", "description"), data["description"], max_length=2000)
    if "unitPrice" in data or creating:
        values["unitPrice"] = checks.money(("input", "unitPrice"), data.get("unitPrice"), required=True)
    if "taxRate" in data:
        if data["taxRate"] is None:
            checks.fail(("input", "taxRate"), "REQUIRED", "taxRate must not be null (0 for no tax)")
        values["taxRate"] = checks.rate(("input", "taxRate"), data["taxRate"])
    if "active" in data:
        if data["active"] is None:
            checks.fail(("input", "active"), "REQUIRED", "active must be true or false")
        values["active"] = data["active"]
    if creating and data.get("stockOnHand") is not None:
        stock = data["stockOnHand"]
        if stock < 0:
            checks.fail(("input", "stockOnHand"), "NEGATIVE", "stockOnHand must not be negative")
        elif stock > MAX_STOCK:
            checks.fail(("input", "stockOnHand"), "INVALID", f"stockOnHand must be at most {MAX_STOCK}")
        values["stockOnHand"] = stock
    return values


def _api(row: Row) -> dict[str, Any]:
    return {field: row[column] for field, column in COLUMNS.items()}


async def create(session: WriteSession, data: dict[str, Any]) -> Outcome:
    require_role(session, COMMANDS["createProduct"], "create products")
    checks = Checks()
    values = _details(checks, data, creating=True)
    checks.done()
    # Checked first for a clear answer; a concurrent insert of the same SKU is
    # still caught by the unique constraint (resolvers/writes/refusals.py).
    taken = await session.value(
        "SELECT 1 FROM products WHERE org_id = %(org)s AND sku = %(sku)s", {"sku": values["sku"]}
    )
    if taken:
        raise CommandError("DUPLICATE", "another product has this SKU", field=["input", "sku"])
    columns = {COLUMNS[name]: value for name, value in values.items() if value is not None}
    columns["org_id"] = session.org_id
    names = ", ".join(columns)
    placeholders = ", ".join(f"%({c})s" for c in columns)
    row = await session.row(f"INSERT INTO products ({names}) VALUES ({placeholders}) RETURNING *", columns)
    assert row is not None
    await session.record(
        "product.created", "Product", row["id"], changes(None, _api(row)),
        [("product.created", {"sku": row["sku"], "unitPrice": row["unit_price"], "active": row["active"]})],
    )
    return Outcome("Product", row["id"])


async def update(session: WriteSession, data: dict[str, Any]) -> Outcome:
    require_role(session, COMMANDS["updateProduct"], "change products")
    checks = Checks()
    pk = checks.global_id(("input", "id"), data.get("id"), "Product")
    values = _details(checks, data, creating=False)
    checks.done()
    before = await _lock(session, pk, data.get("version"))
    columns = {COLUMNS[name]: value for name, value in values.items()}
    after = await session.update("products", pk, columns)
    changed = changes(_api(before), _api(after))
    await session.record(
        "product.updated", "Product", pk, changed, [("product.updated", {"sku": after["sku"], "fields": sorted(changed)})]
    )
    return Outcome("Product", pk)


async def adjust_stock(session: WriteSession, data: dict[str, Any]) -> Outcome:
    """A stock count correction or a goods receipt: ``stock_on_hand += delta``.

    Stock promised to placed orders (``stock_reserved``) cannot be taken away."""
    require_role(session, COMMANDS["adjustStock"], "adjust stock")
    checks = Checks()
    pk = checks.global_id(("input", "id"), data.get("id"), "Product")
    delta = data.get("delta")
    if delta is None:
        checks.fail(("input", "delta"), "REQUIRED", "delta is required")
    elif delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        checks.fail(("input", "delta"), "INVALID", f"delta must be non-zero and at most {MAX_ADJUSTMENT} either way")
    reason = checks.text(("input", "reason"), data.get("reason"), max_length=200, required=True)
    checks.done()
    before = await _lock(session, pk, data.get("version"))
    on_hand = before["stock_on_hand"] + delta
    if on_hand < before["stock_reserved"]:  # reserved ≥ 0, so this also keeps stock from going negative
        raise CommandError(
            "INSUFFICIENT_STOCK",
            f"{before['sku']}: {before['stock_on_hand']} on hand, {before['stock_reserved']} reserved;"
            f" cannot remove {-delta}",
            field=["input", "delta"],
        )
    await session.execute(
        "UPDATE products SET stock_on_hand = %(on_hand)s, version = version + 1, updated_at = now() WHERE id = %(pk)s",
        {"on_hand": on_hand, "pk": pk},
    )
    await session.record(
        "product.stock_adjusted", "Product", pk,
        {"stockOnHand": {"before": before["stock_on_hand"], "after": on_hand}, "delta": delta, "reason": reason},
        [("product.stock_adjusted", {"sku": before["sku"], "delta": delta, "stockOnHand": on_hand, "reason": reason})],
    )
    return Outcome("Product", pk)


async def _lock(session: WriteSession, pk: int, version: int | None) -> Row:
    """The product, locked for this transaction, at the version the client read."""
    visible, params = session.scope("Product", "t")
    row = await session.row(
        f"SELECT t.* FROM products t WHERE t.id = %(pk)s AND {visible} FOR UPDATE OF t", {**params, "pk": pk}
    )
    if row is None:
        raise not_found(("input", "id"), "Product")
    check_version(row, version, "Product")
    return row
