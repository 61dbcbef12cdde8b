"""Product commands: create, update, and stock adjustments (roles: ``COMMANDS`` in app/workflows.py).

Products have no lifecycle: ``active`` only says whether new order lines may use
them. Order lines copy the price and tax rate when they are written, so a price
change here never touches an existing order.
"""

from __future__ import annotations

from typing import Any

from app.errors import CommandError
from app.events.products import (
    PRODUCT_CREATED,
    PRODUCT_UPDATED,
    STOCK_ADJUSTED,
    ProductCreatedPayload,
    ProductUpdatedPayload,
    StockAdjustedPayload,
)
from app.workflows import COMMANDS
from resolvers.products.inputs import AdjustStock, CreateProduct, UpdateProduct
from resolvers.writes.checks import Checks, not_found
from resolvers.writes.inputs import UNCHANGED
from resolvers.writes.lifecycle import check_version, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import Row, WriteSession, changes

__all__ = ["adjust_stock", "create_product", "update_product"]

# API field → column, for the audit log (its changes are keyed as clients read them).
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


def _details(checks: Checks, command: CreateProduct | UpdateProduct) -> dict[str, Any]:
    """The checked values of the fields given, by column (a new product's are all given)."""
    values: dict[str, Any] = {}
    if isinstance(command, CreateProduct):
        values["sku"] = checks.text(("sku",), command.sku, max_length=64, required=True)
    if command.name is not UNCHANGED:
        values["name"] = checks.text(("name",), command.name, max_length=200, required=True)
    if command.description is not UNCHANGED:
        values["description"] = checks.text(("description",), command.description, max_length=2000)
    if command.unit_price is not UNCHANGED:
        values["unit_price"] = checks.money(("unit_price",), command.unit_price, required=True)
    if command.tax_rate is not UNCHANGED:
        if command.tax_rate is None:
            checks.fail(("tax_rate",), "REQUIRED", "tax rate must not be null (0 for no tax)")
        values["tax_rate"] = checks.rate(("tax_rate",), command.tax_rate)
    if command.active is not UNCHANGED:
        if command.active is None:
            checks.fail(("active",), "REQUIRED", "active must be true or false")
        values["active"] = command.active
    if isinstance(command, CreateProduct):
        values["stock_on_hand"] = _stock_on_hand(checks, command.stock_on_hand)
    return values


def _stock_on_hand(checks: Checks, stock: int | None) -> int | None:
    if stock is None:
        return None
    if stock < 0:
        checks.fail(("stock_on_hand",), "NEGATIVE", "stock on hand must not be negative")
    elif stock > MAX_STOCK:
        checks.fail(("stock_on_hand",), "INVALID", f"stock on hand must be at most {MAX_STOCK}")
    return stock


def _api(row: Row) -> dict[str, Any]:
    return {field: row[column] for field, column in COLUMNS.items()}


async def create_product(session: WriteSession, command: CreateProduct) -> Outcome:
    require_role(session, COMMANDS["create_product"], "create products")
    checks = Checks()
    values = _details(checks, command)
    checks.done()
    # Checked first for a clear answer; a concurrent insert of the same SKU is
    # still caught by the unique constraint (resolvers/writes/refusals.py).
    taken = await session.value(
        "SELECT 1 FROM products WHERE org_id = %(org)s AND sku = %(sku)s", {"sku": values["sku"]}
    )
    if taken:
        raise CommandError("DUPLICATE", "another product has this SKU", field=["sku"])
    # Left out (None): the table's defaults.
    columns = {column: value for column, value in values.items() if value is not None}
    columns["org_id"] = session.org_id
    names = ", ".join(columns)
    placeholders = ", ".join(f"%({c})s" for c in columns)
    row = await session.row(f"INSERT INTO products ({names}) VALUES ({placeholders}) RETURNING *", columns)
    assert row is not None
    event = PRODUCT_CREATED.announce(
        ProductCreatedPayload(sku=row["sku"], unitPrice=row["unit_price"], active=row["active"])
    )
    await session.record(PRODUCT_CREATED.name, "Product", row["id"], changes(None, _api(row)), [event])
    return Outcome("Product", row["id"])


async def update_product(session: WriteSession, command: UpdateProduct) -> Outcome:
    require_role(session, COMMANDS["update_product"], "change products")
    checks = Checks()
    values = _details(checks, command)
    checks.done()
    pk = command.id
    before = await _lock(session, pk, command.version)
    after = await session.update("products", pk, values)
    changed = changes(_api(before), _api(after))
    event = PRODUCT_UPDATED.announce(ProductUpdatedPayload(sku=after["sku"], fields=sorted(changed)))
    await session.record(PRODUCT_UPDATED.name, "Product", pk, changed, [event])
    return Outcome("Product", pk)


async def adjust_stock(session: WriteSession, command: AdjustStock) -> Outcome:
    """A stock count correction or a goods receipt: ``stock_on_hand += delta``.

    Stock promised to placed orders (``stock_reserved``) cannot be taken away."""
    require_role(session, COMMANDS["adjust_stock"], "adjust stock")
    checks = Checks()
    delta = command.delta
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        checks.fail(("delta",), "INVALID", f"delta must be non-zero and at most {MAX_ADJUSTMENT} either way")
    reason = checks.text(("reason",), command.reason, max_length=200, required=True)
    checks.done()
    assert reason is not None
    pk = command.id
    before = await _lock(session, pk, command.version)
    on_hand = before["stock_on_hand"] + delta
    if on_hand < before["stock_reserved"]:  # reserved ≥ 0, so this also keeps stock from going negative
        raise CommandError(
            "INSUFFICIENT_STOCK",
            f"{before['sku']}: {before['stock_on_hand']} on hand, {before['stock_reserved']} reserved;"
            f" cannot remove {-delta}",
            field=["delta"],
        )
    await session.execute(
        "UPDATE products SET stock_on_hand = %(on_hand)s, version = version + 1, updated_at = now() WHERE id = %(pk)s",
        {"on_hand": on_hand, "pk": pk},
    )
    event = STOCK_ADJUSTED.announce(
        StockAdjustedPayload(sku=before["sku"], delta=delta, stockOnHand=on_hand, reason=reason)
    )
    await session.record(
        STOCK_ADJUSTED.name,
        "Product",
        pk,
        {"stockOnHand": {"before": before["stock_on_hand"], "after": on_hand}, "delta": delta, "reason": reason},
        [event],
    )
    return Outcome("Product", pk)


async def _lock(session: WriteSession, pk: int, version: int | None) -> Row:
    """The product, locked for this transaction, at the version the client read."""
    visible, params = session.scope("Product", "t")
    row = await session.row(
        f"SELECT t.* FROM products t WHERE t.id = %(pk)s AND {visible} FOR UPDATE OF t", {**params, "pk": pk}
    )
    if row is None:
        raise not_found(("id",), "Product")
    check_version(row, version, "Product")
    return row
