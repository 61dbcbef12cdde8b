"""An order's stock movements: reserving on placing, releasing on cancelling,
shipping on fulfilling.

Every movement first locks the order's products FOR UPDATE in product id
order. Two orders sharing products then always queue for them in the same
order, so concurrent placements wait for each other instead of deadlocking.

Stock movements do not bump a product's ``version``: the version guards edits
of the product's details, and an admin changing a price should not get a
CONFLICT because someone placed an order meanwhile.
"""

from __future__ import annotations

from resolvers.writes.session import Row, WriteSession

# Per product on the order: the units of all its lines, and the index (from 0,
# in line number order) of its first line, to point at it in an error.
_NEEDS = (
    "SELECT product_id, sum(quantity)::bigint AS quantity, min(idx) AS first_index"
    " FROM (SELECT product_id, quantity, row_number() OVER (ORDER BY line_no) - 1 AS idx"
    "       FROM order_lines WHERE order_id = %(order)s) l"
    " GROUP BY product_id"
)


async def lock(session: WriteSession, order_pk: int) -> list[Row]:
    """The order's products, locked, with the units the order needs of each."""
    return await session.rows(
        "SELECT p.id, p.sku, p.stock_on_hand, p.stock_reserved, n.quantity, n.first_index"
        f" FROM ({_NEEDS}) n JOIN products p ON p.id = n.product_id"
        " ORDER BY p.id FOR UPDATE OF p",
        {"order": order_pk},
    )


async def _move(session: WriteSession, order_pk: int, assignments: str) -> None:
    await session.execute(
        f"UPDATE products p SET {assignments}, updated_at = now() FROM ({_NEEDS}) n WHERE p.id = n.product_id",
        {"order": order_pk},
    )


async def reserve(session: WriteSession, order_pk: int) -> None:
    await _move(session, order_pk, "stock_reserved = p.stock_reserved + n.quantity")


async def release(session: WriteSession, order_pk: int) -> None:
    await _move(session, order_pk, "stock_reserved = p.stock_reserved - n.quantity")


async def ship(session: WriteSession, order_pk: int) -> None:
    """The reserved units leave the warehouse."""
    await _move(
        session,
        order_pk,
        "stock_on_hand = p.stock_on_hand - n.quantity, stock_reserved = p.stock_reserved - n.quantity",
    )
