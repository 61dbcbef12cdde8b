"""Orders and order lines of one organization, and the invoices they call for.

This is the hot loop of ``large`` (a million orders), so rows are plain tuples and
times stay integers (seconds before the anchor) until a row is built."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from itertools import accumulate

from app.seed.common import DAY, ZERO, Dataset, at, round_cents
from app.seed.customers import Buyer
from app.seed.invoices import Billing, plan_invoices
from app.seed.products import DISCONTINUED_AGO, Catalog

ORDER_COLUMNS = (
    "id",
    "org_id",
    "number",
    "customer_id",
    "sales_rep_id",
    "status",
    "placed_at",
    "approved_at",
    "fulfilled_at",
    "cancelled_at",
    "subtotal",
    "tax",
    "total",
    "version",
    "created_at",
    "updated_at",
)
LINE_COLUMNS = (
    "id",
    "org_id",
    "order_id",
    "line_no",
    "product_id",
    "quantity",
    "unit_price",
    "discount",
    "tax_rate",
    "line_total",
)

ORDER_STATUSES = ("draft", "placed", "approved", "fulfilled", "cancelled")
# Recent orders are still open; old ones are done. (age below N days, cumulative odds per status)
STATUS_BY_AGE = (
    (7, (0.25, 0.55, 0.80, 0.94, 1.0)),
    (45, (0.04, 0.14, 0.36, 0.93, 1.0)),
    (None, (0.006, 0.011, 0.021, 0.93, 1.0)),
)
LINES_PER_ORDER = (1, 2, 3, 4, 5, 6)
LINES_CUM = (20, 42, 64, 80, 92, 100)  # about three lines an order
QUANTITY = {"consumer": (1, 3), "small_business": (1, 12), "mid_market": (2, 40), "enterprise": (5, 150)}
DISCOUNTS = tuple(Decimal(p) for p in ("0.05", "0.10", "0.15", "0.20"))
HOUR = 3600


def _status(age: int, roll: float) -> str:
    for limit, cumulative in STATUS_BY_AGE:
        if limit is None or age < limit * DAY:
            for status, edge in zip(ORDER_STATUSES, cumulative, strict=True):
                if roll < edge:
                    return status
    return "cancelled"


def _timeline(
    status: str, created: int, b2b: bool, random_: Callable[[], float]
) -> tuple[int | None, int | None, int | None, int | None, int, int]:
    """(placed, approved, fulfilled, cancelled, last change, version) in seconds before the
    anchor: each step some time after the previous one, none after the anchor."""
    placed: int | None = None
    approved: int | None = None
    fulfilled: int | None = None
    cancelled: int | None = None
    last, version = created, 1
    if status != "draft":
        placed = last = last - int(random_() * min(last, 2 * HOUR))
        version += 1
        # Business orders are approved before they ship; consumer orders ship straight away.
        if status == "approved" or (b2b and (status == "fulfilled" or (status == "cancelled" and random_() < 0.5))):
            approved = last = last - int(random_() * min(last, 2 * DAY))
            version += 1
        if status == "fulfilled":
            fulfilled = last = last - int(random_() * min(last, 10 * DAY))
            version += 1
        elif status == "cancelled":
            cancelled = last = last - int(random_() * min(last, 5 * DAY))
            version += 1
    return placed, approved, fulfilled, cancelled, last, version


def generate_orders(
    data: Dataset,
    org_id: int,
    count: int,
    buyers: list[Buyer],
    catalog: Catalog,
    reps: list[int],
    rng: random.Random,
    tick: Callable[[int], None],
    billing: Billing,
) -> tuple[dict[int, int], set[int]]:
    """Write orders and lines, and hand ``billing`` the invoices they call for as they
    go; return the stock held by open orders and the customers who ordered."""
    picks = rng.choices(buyers, cum_weights=list(accumulate(b.weight for b in buyers)), k=count)
    # When each order was created (seconds before the anchor), oldest first so
    # that ids and order numbers follow time.
    stamped = sorted(((b.until + int(rng.random() * (b.since - b.until)), b) for b in picks), key=lambda s: -s[0])
    sizes = rng.choices(LINES_PER_ORDER, cum_weights=LINES_CUM, k=count)
    order_id = data.reserve("orders", count)
    # A product picked twice in one order is dropped, so the number of lines is
    # only known at the end: take the ids as we go and reserve them then.
    first_line_id = line_id = data.reserve("order_lines", 0)
    orders, lines = data.rows["orders"], data.rows["order_lines"]
    reserved: dict[int, int] = {}
    random_ = rng.random
    for n, ((created, buyer), size) in enumerate(zip(stamped, sizes, strict=True)):
        billing.release(created)  # invoices no order from here on can precede
        status = _status(created, random_())
        b2b = buyer.segment != "consumer"
        placed, approved, fulfilled, cancelled, last, version = _timeline(status, created, b2b, random_)
        if created > DISCONTINUED_AGO:
            pool, pool_cum = catalog.items, catalog.all_cum
        else:
            pool, pool_cum = catalog.current, catalog.current_cum
        low, high = QUANTITY[buyer.segment]
        span = high - low + 1
        holds = status in ("placed", "approved")
        subtotal = tax = ZERO
        order_lines = []
        # dict.fromkeys drops a product picked twice but keeps the pick order.
        for line_no, item in enumerate(dict.fromkeys(rng.choices(pool, cum_weights=pool_cum, k=size)), 1):
            quantity = low + int(random_() * span)
            gross = item.price * quantity
            discount = round_cents(gross * DISCOUNTS[int(random_() * 4)]) if random_() < 0.25 else ZERO
            line_total = gross - discount
            subtotal += line_total
            tax += round_cents(line_total * item.tax_rate)
            order_lines.append(
                (line_id, org_id, order_id, line_no, item.id, quantity, item.price, discount, item.tax_rate, line_total)
            )
            line_id += 1
            if holds and item.stocked:
                reserved[item.id] = reserved.get(item.id, 0) + quantity
        lines += order_lines
        rep: int | None
        if buyer.account_manager is not None and random_() < 0.9:
            rep = buyer.account_manager
        else:  # consumer web orders mostly have no sales rep
            rep = reps[int(random_() * len(reps))] if b2b or random_() < 0.3 else None
        orders.append(
            (
                order_id,
                org_id,
                f"SO-{n + 1:07d}",
                buyer.id,
                rep,
                status,
                None if placed is None else at(placed),
                None if approved is None else at(approved),
                None if fulfilled is None else at(fulfilled),
                None if cancelled is None else at(cancelled),
                subtotal,
                tax,
                subtotal + tax,
                version,
                at(created),
                at(last),
            )
        )
        if placed is not None:  # every order but a draft was placed
            plan_invoices(
                billing.add,
                random_(),
                order_id,
                buyer,
                status,
                placed,
                approved,
                fulfilled,
                cancelled,
                subtotal,
                tax,
                order_lines,
            )
        order_id += 1
        if n % 10_000 == 9_999:
            tick(10_000)
    tick(count % 10_000)
    data.reserve("order_lines", line_id - first_line_id)
    return reserved, {buyer.id for buyer in picks}
