"""Invoices of one organization: which orders get one, gapless numbers per year, and
the line snapshot. Payments are settled in ``payments``."""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from app.seed.common import ANCHOR, DAY, ZERO, Dataset, Row, at
from app.seed.customers import Buyer
from app.seed.orgs import OrgSpec
from app.seed.payments import settle
from app.seed.products import Catalog

INVOICE_COLUMNS = (
    "id",
    "org_id",
    "number",
    "year",
    "seq",
    "order_id",
    "customer_id",
    "status",
    "issued_at",
    "due_at",
    "subtotal",
    "tax",
    "total",
    "amount_paid",
    "version",
    "created_at",
    "updated_at",
)
INVOICE_LINE_COLUMNS = (
    "id",
    "org_id",
    "invoice_id",
    "line_no",
    "product_id",
    "sku",
    "description",
    "quantity",
    "unit_price",
    "discount",
    "tax_rate",
    "line_total",
)

TERMS_DAYS = {"enterprise": (60, 30), "mid_market": (30,), "small_business": (30, 14), "consumer": (14,)}


class InvoicePlan(NamedTuple):
    """An invoice decided while its order was generated; ``Billing`` numbers it in issue order.
    Times are seconds before the anchor."""

    created: int
    issued: int | None  # None: still a draft
    voided: int | None
    order_id: int
    buyer: Buyer
    subtotal: Decimal
    tax: Decimal
    lines: list[Row]  # the order's line rows, as written to order_lines


def plan_invoices(
    add_plan: Callable[[InvoicePlan], None],
    roll: float,
    order_id: int,
    buyer: Buyer,
    status: str,
    placed: int,
    approved: int | None,
    fulfilled: int | None,
    cancelled: int | None,
    subtotal: Decimal,
    tax: Decimal,
    lines: list[Row],
) -> None:
    """Invoice on shipment; approved orders may be billed up front or have a draft
    ready; an order cancelled after approval may leave a void invoice behind."""

    def add(created: int, issued: int | None, voided: int | None = None) -> None:
        add_plan(InvoicePlan(created, issued, voided, order_id, buyer, subtotal, tax, lines))

    # The order's timeline stamps every step its status has passed through.
    if status == "fulfilled":
        assert fulfilled is not None
        if roll < 0.015:  # the first invoice had a mistake: voided and issued again on shipment
            first = approved if approved is not None else placed
            add(first, first, fulfilled)
        add(fulfilled, fulfilled)
    elif status == "approved":
        assert approved is not None
        if roll < 0.5:
            add(approved, approved)
        elif roll < 0.8:
            add(approved, None)
    elif status == "placed" and roll < 0.25:
        add(placed, None)
    elif status == "cancelled" and approved is not None and roll < 0.4:
        add(approved, approved, cancelled)


def _year_starts(org: OrgSpec) -> list[tuple[int, int]]:
    """(year, seconds before the anchor of 1 January 00:00 in the organization's zone),
    newest first: invoice years are the organization's calendar years."""
    zone = org.zone
    return [
        (year, int((ANCHOR - datetime(year, 1, 1, tzinfo=zone)).total_seconds()))
        for year in range(ANCHOR.year + 1, ANCHOR.year - 5, -1)
    ]


class Billing:
    """The invoices of one organization, written in issue order while its orders are
    still being generated, so that no more than a few days of them wait in memory.

    Invoices are numbered and given ids oldest first (by issue time, or creation for a
    draft; ties in the order they were planned). Orders come oldest first and none is
    invoiced before it was created, so once the next order was created at ``t`` no plan
    still to come can sort before a waiting plan dated at or before ``t``: ``release``
    writes those. ``finish`` writes the rest. The result is the same as sorting every
    plan of the organization at the end."""

    def __init__(
        self,
        data: Dataset,
        org: OrgSpec,
        org_id: int,
        catalog: Catalog,
        rng: random.Random,
        tick: Callable[[int], None],
    ) -> None:
        self.data, self.org_id, self.rng, self.tick = data, org_id, rng, tick
        self.by_id = catalog.by_id
        self.year_starts = _year_starts(org)
        self.next_seq: dict[int, int] = {}
        # (seconds before the anchor, negated: oldest first; arrival, for ties; the plan)
        self.waiting: list[tuple[int, int, InvoicePlan]] = []
        self.arrivals = 0
        self.written = 0
        self.invoiced: Counter[int] = Counter()  # invoices per customer

    def add(self, plan: InvoicePlan) -> None:
        when = plan.issued if plan.issued is not None else plan.created
        heapq.heappush(self.waiting, (-when, self.arrivals, plan))
        self.arrivals += 1

    def release(self, created: int) -> None:
        """Write every waiting invoice dated at or before ``created`` (seconds before the
        anchor), the creation time of the next order."""
        waiting = self.waiting
        while waiting and -waiting[0][0] >= created:
            self._write(heapq.heappop(waiting)[2])

    def finish(self) -> None:
        while self.waiting:
            self._write(heapq.heappop(self.waiting)[2])
        self.tick(self.written % 10_000)

    def _write(self, plan: InvoicePlan) -> None:
        data, org_id, rng = self.data, self.org_id, self.rng
        invoice_id = data.reserve("invoices", 1)
        line_id = data.reserve("invoice_lines", len(plan.lines))
        total = plan.subtotal + plan.tax
        issued = plan.issued
        if issued is None:
            data.rows["invoices"].append(
                (
                    invoice_id,
                    org_id,
                    None,
                    None,
                    None,
                    plan.order_id,
                    plan.buyer.id,
                    "draft",
                    None,
                    None,
                    plan.subtotal,
                    plan.tax,
                    total,
                    ZERO,
                    1,
                    at(plan.created),
                    at(plan.created),
                )
            )
        else:
            year = next(y for y, start in self.year_starts if issued <= start)
            seq = self.next_seq[year] = self.next_seq.get(year, 0) + 1
            due = issued - rng.choice(TERMS_DAYS[plan.buyer.segment]) * DAY
            if plan.voided is not None:  # voided invoices keep their number: the sequence has no gaps
                status, paid, version, updated = "void", ZERO, 2, plan.voided
            else:
                status, paid, version, updated = settle(
                    data, org_id, invoice_id, plan.buyer.segment, total, issued, due, rng
                )
            data.rows["invoices"].append(
                (
                    invoice_id,
                    org_id,
                    f"INV-{year}-{seq:06d}",
                    year,
                    seq,
                    plan.order_id,
                    plan.buyer.id,
                    status,
                    at(issued),
                    at(due),
                    plan.subtotal,
                    plan.tax,
                    total,
                    paid,
                    version,
                    at(issued),
                    at(updated),
                )
            )
        invoice_lines = data.rows["invoice_lines"]
        by_id = self.by_id
        for line in plan.lines:
            item = by_id[line[4]]
            invoice_lines.append(
                (
                    line_id,
                    org_id,
                    invoice_id,
                    line[3],
                    item.id,
                    item.sku,
                    item.name,
                    line[5],
                    line[6],
                    line[7],
                    line[8],
                    line[9],
                )
            )
            line_id += 1
        self.invoiced[plan.buyer.id] += 1
        self.written += 1
        if self.written % 10_000 == 0:
            self.tick(10_000)
