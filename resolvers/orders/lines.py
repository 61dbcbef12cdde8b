"""Order lines: checking what a client asks for, pricing it from the catalog,
writing it, and the order's totals recomputed from its lines.

A line copies the product's unit price and tax rate when it is written (a
snapshot): later price changes never alter an existing order.

Tax is rounded per line, half-up to the cent (PostgreSQL's ``round(numeric, 2)``
rounds halves away from zero, which for these non-negative amounts is half-up,
the same rule as the seed data): tax = Σ round(line_total × tax_rate, 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from resolvers.writes.checks import Checks, Path
from resolvers.writes.session import Row, WriteSession, to_json

ZERO = Decimal("0.00")
MAX_LINES = 500  # per request: an order is for people to read, not a bulk import


class LineFields(Protocol):
    """What a caller asks of a line: a new order's line, or a line added to a draft."""

    @property
    def product_id(self) -> int: ...

    @property
    def quantity(self) -> int: ...

    @property
    def discount(self) -> Decimal | None: ...


@dataclass(frozen=True)
class LineRequest:
    """One line as asked for, checked for shape; ``path`` leads to it in the input."""

    path: tuple[str | int, ...]
    product_id: int
    quantity: int | None
    discount: Decimal


@dataclass(frozen=True)
class PricedLine:
    product_id: int
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.quantity * self.unit_price - self.discount


def check_discount(checks: Checks, path: Path, value: Decimal | None) -> Decimal:
    """A discount is an amount ≥ 0; None means none."""
    if value is None:
        return ZERO
    return checks.money(path, value) or ZERO


def check_line(checks: Checks, path: Path, line: LineFields) -> LineRequest:
    """The line's fields; a field found wrong is None, so ``price`` does not judge it again."""
    found = len(checks.errors)
    quantity: int | None = checks.quantity((*path, "quantity"), line.quantity)
    if len(checks.errors) > found:
        quantity = None
    discount = check_discount(checks, (*path, "discount"), line.discount)
    return LineRequest(tuple(path), line.product_id, quantity, discount)


# What pricing reads of a product; ``PRODUCTS`` reads it for the ids ``%(ids)s``.
PRODUCT_COLUMNS = "id, sku, active, unit_price, tax_rate"
PRODUCTS = f"SELECT {PRODUCT_COLUMNS} FROM products WHERE org_id = %(org)s AND id = ANY(%(ids)s)"


def product_ids(requests: Sequence[LineRequest]) -> list[int]:
    """The products the lines name, each once (the ``%(ids)s`` of ``PRODUCTS``)."""
    return sorted({r.product_id for r in requests})


async def price(session: WriteSession, checks: Checks, requests: Sequence[LineRequest]) -> list[PricedLine]:
    """The lines priced from the catalog (``priced_from``), the products read in one statement."""
    products = {row["id"]: row for row in await session.rows(PRODUCTS, {"ids": product_ids(requests)})}
    return priced_from(products, checks, requests)


def priced_from(products: Mapping[int, Row], checks: Checks, requests: Sequence[LineRequest]) -> list[PricedLine]:
    """The lines priced from ``products`` (their ``PRODUCT_COLUMNS`` by id). Every problem goes
    to ``checks``: a product of another organization (NOT_FOUND), one not sold any more
    (PRODUCT_INACTIVE), a discount above the line's gross amount (INVALID).

    The prices are read without a lock: should a price change meanwhile, the line
    carries the price it was checked against, as if ordered a moment earlier."""
    priced = []
    for r in requests:
        if r.quantity is None:
            continue  # already reported by check_line
        product = products.get(r.product_id)
        if product is None:
            checks.fail((*r.path, "product_id"), "NOT_FOUND", "no Product with this ID")
            continue
        if not product["active"]:
            checks.fail((*r.path, "product_id"), "PRODUCT_INACTIVE", f"product {product['sku']} is not sold any more")
            continue
        gross = r.quantity * product["unit_price"]
        if r.discount > gross:
            checks.fail((*r.path, "discount"), "INVALID", f"discount is more than the line's gross amount ({gross})")
            continue
        priced.append(
            PricedLine(r.product_id, product["sku"], r.quantity, product["unit_price"], r.discount, product["tax_rate"])
        )
    return priced


def lines_json(lines: Sequence[PricedLine]) -> str:
    """The lines as the JSON array the insert statements expand (``LINE_RECORDS``), numbered from 1."""
    return to_json(
        [
            {
                "idx": i,
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "tax_rate": line.tax_rate,
            }
            for i, line in enumerate(lines, start=1)
        ]
    )


# A line's total from the rows of ``LINE_RECORDS`` (alias ``l``), as the column stores it.
LINE_TOTAL = "l.quantity * l.unit_price - l.discount"


def totals_of(lines: str) -> str:
    """SQL for the ``subtotal`` and ``tax`` of ``lines``, a FROM item aliased ``t`` with
    ``line_total`` and ``tax_rate`` columns: the one statement of the module's tax rule."""
    return (
        "SELECT COALESCE(sum(t.line_total), 0) AS subtotal,"
        f" COALESCE(sum(round(t.line_total * t.tax_rate, 2)), 0) AS tax FROM {lines}"
    )


# The rows of ``lines_json``, typed.
LINE_RECORDS = (
    "jsonb_to_recordset(%(lines)s::jsonb)"
    " AS l(idx int, product_id bigint, quantity int, unit_price numeric, discount numeric, tax_rate numeric)"
)


async def insert(session: WriteSession, order_pk: int, lines: Sequence[PricedLine]) -> list[Row]:
    """Append the lines to the order (numbered after its last line), in one statement."""
    if not lines:
        return []
    return await session.rows(
        "INSERT INTO order_lines (org_id, order_id, line_no, product_id, quantity, unit_price, discount, tax_rate,"
        " line_total)"
        " SELECT %(org)s, %(order)s,"
        " (SELECT COALESCE(max(x.line_no), 0) FROM order_lines x WHERE x.order_id = %(order)s) + l.idx,"
        f" l.product_id, l.quantity, l.unit_price, l.discount, l.tax_rate, {LINE_TOTAL}"
        f" FROM {LINE_RECORDS} ORDER BY l.idx RETURNING *",
        {"order": order_pk, "lines": lines_json(lines)},
    )


async def recompute_totals(session: WriteSession, order_pk: int) -> Row:
    """The order's subtotal, tax and total from its lines (one statement), and a new version.
    Tax: per line, rounded half-up to the cent (``totals_of``)."""
    row = await session.row(
        "UPDATE orders o SET subtotal = s.subtotal, tax = s.tax, total = s.subtotal + s.tax,"
        " version = o.version + 1, updated_at = now()"
        f" FROM ({totals_of('order_lines t WHERE t.order_id = %(pk)s')}) s"
        " WHERE o.id = %(pk)s RETURNING o.*",
        {"pk": order_pk},
    )
    assert row is not None
    return row


def line_api(row: Row) -> dict[str, Any]:
    """A line as the audit log keeps it."""
    return {
        "lineNo": row["line_no"],
        "productId": row["product_id"],
        "quantity": row["quantity"],
        "unitPrice": row["unit_price"],
        "discount": row["discount"],
        "taxRate": row["tax_rate"],
        "lineTotal": row["line_total"],
    }
