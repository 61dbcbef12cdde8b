"""A new draft order in two statements, whatever its number of lines: one reads everything
the draft refers to (the customer, the sales rep, the products), one writes the order with
its number, its lines and its totals.

Each round trip to PostgreSQL costs the server more CPU (the send, the wake-up, the driver)
than the statement's own work here; a 5-line draft took seven statements this way takes two.
The rules are those of the statements they replace, which still serve line edits
(``lines.py``): a line's total is ``quantity × unit_price − discount`` as the column stores
it, the order's tax is the sum of each line's tax rounded to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from resolvers.orders.lines import LINE_RECORDS, LINE_TOTAL, PRODUCT_COLUMNS, PricedLine, lines_json, totals_of
from resolvers.orders.records import COLUMNS
from resolvers.writes.session import Row, WriteSession


@dataclass(frozen=True)
class References:
    """What a new draft refers to, as the principal may use it."""

    customer_status: str | None  # None: no such customer in the principal's acting scope
    rep_found: bool  # the sales rep is an employee of the organization (False when none was named)
    products: Mapping[int, Row]  # ``PRODUCT_COLUMNS`` by id, of the organization's products among those named


async def references(
    session: WriteSession,
    customer_pk: int,
    customer_scope: tuple[str, Mapping[str, object]],
    rep_pk: int | None,
    product_ids: Sequence[int],
) -> References:
    """One statement: the customer's status within ``customer_scope`` (SQL on alias ``t``
    and its parameters), whether the rep exists, and the products; one row per product found
    (one row of NULL product columns when none is)."""
    scope, params = customer_scope
    products = ", ".join(f"p.{column}" for column in PRODUCT_COLUMNS.split(", "))
    rows = await session.rows(
        "SELECT c.status AS customer_status, r.found AS rep_found, " + products + " FROM"
        f" (SELECT (SELECT t.status FROM customers t WHERE t.id = %(customer)s AND {scope}) AS status) c"
        " CROSS JOIN (SELECT EXISTS (SELECT 1 FROM employees WHERE id = %(rep)s AND org_id = %(org)s) AS found) r"
        " LEFT JOIN products p ON p.org_id = %(org)s AND p.id = ANY(%(ids)s)",
        {**params, "customer": customer_pk, "rep": rep_pk, "ids": list(product_ids)},
    )
    first = rows[0]  # the LEFT JOIN keeps the one row of c × r
    return References(
        customer_status=first["customer_status"],
        rep_found=bool(first["rep_found"]),
        products={row["id"]: row for row in rows if row["id"] is not None},
    )


# The order's columns the audit row and the event read (``records.py``), and the key.
_ORDER_COLUMNS = ("id", *COLUMNS.values())
# A line's columns as the audit row reads them (``lines.line_api``).
_LINE_COLUMNS = ("line_no", "product_id", "quantity", "unit_price", "discount", "tax_rate", "line_total")


def order_number(n: str) -> str:
    """SQL for the order number of the sequence value ``n`` (SQL): ``SO-`` and at least seven
    digits, what ``f"SO-{n:07d}"`` makes (``lpad`` alone would cut an eighth digit off)."""
    return f"'SO-' || lpad({n}::text, greatest(7, length({n}::text)), '0')"


# The new lines as they will be stored (cast to their columns' types), for the order's totals.
_STORED_LINES = f"(SELECT ({LINE_TOTAL})::numeric(14, 2) AS line_total, l.tax_rate::numeric(6, 4) AS tax_rate FROM l) t"

# The number is the next of ``order_numbers`` (``order_number``). The totals are computed
# from the lines as they will be stored (cast to their columns' types) before they are: a
# statement's sub-statements do not see each other's rows. The lines are inserted in order,
# so their keys ascend with line_no.
_INSERT_DRAFT = (
    f"WITH l AS (SELECT * FROM {LINE_RECORDS}),"
    " o AS (INSERT INTO orders (org_id, number, customer_id, sales_rep_id, note, subtotal, tax, total)"
    f" SELECT %(org)s, {order_number('n.n')}, %(customer)s, %(rep)s,"
    " %(note)s, s.subtotal, s.tax, s.subtotal + s.tax"
    " FROM (SELECT nextval('order_numbers') AS n) n,"
    f" ({totals_of(_STORED_LINES)}) s"
    " RETURNING *),"
    " i AS (INSERT INTO order_lines (org_id, order_id, line_no, product_id, quantity, unit_price, discount, tax_rate,"
    " line_total)"
    " SELECT %(org)s, o.id, l.idx, l.product_id, l.quantity, l.unit_price, l.discount, l.tax_rate,"
    f" {LINE_TOTAL} FROM o CROSS JOIN l ORDER BY l.idx RETURNING *)"
    " SELECT "
    + ", ".join(f"o.{column}" for column in _ORDER_COLUMNS)
    + ", "
    + ", ".join(f"i.{column} AS line_{column}" for column in _LINE_COLUMNS)
    + " FROM o LEFT JOIN i ON true ORDER BY i.line_no"
)


async def insert_draft(
    session: WriteSession, customer_pk: int, rep_pk: int | None, note: str | None, lines: Sequence[PricedLine]
) -> tuple[Row, list[Row]]:
    """The draft (version 1) and its lines, numbered from 1: the order's row (its key and the
    ``records.COLUMNS``) and the lines' rows (the columns ``lines.line_api`` reads)."""
    rows = await session.rows(
        _INSERT_DRAFT,
        {"customer": customer_pk, "rep": rep_pk, "note": note, "lines": lines_json(lines)},
    )
    order: Row = {column: rows[0][column] for column in _ORDER_COLUMNS}
    written: list[Row] = [
        {column: row[f"line_{column}"] for column in _LINE_COLUMNS} for row in rows if row["line_line_no"] is not None
    ]
    return order, written
