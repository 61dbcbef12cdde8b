"""The business invariants hold after any sequence of commands (hypothesis, stateful).

Hypothesis drives a sequence of orders, line edits, placements, approvals,
fulfilments, cancellations, stock adjustments, invoices, payments and voids —
allowed or not, in any order — through GraphQL over HTTP, and after every step
checks, with SQL against the database itself:

- every order's subtotal is the sum of its line totals, its tax the sum of the
  lines' rounded taxes, its total subtotal + tax;
- every invoice's amount paid is the sum of its payments and never exceeds its total;
- stock is never negative, and the stock reserved for the test's products is
  exactly what their placed and approved orders hold (so a cancel released it);
- every status change between two steps is one the state machines declare;
- an issued invoice never changes (number, amounts, dates, lines);
- invoice numbers of an organization and year have no gaps and no duplicates.

The state machine runs in a worker thread; its HTTP calls run on the test's
event loop, where the app lives.
"""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule

from app.workflows import MACHINES
from tests.support.workflow import data, gid, pk, sql, token

ORG = 1
_runs = itertools.count()

ORDER = "order { id version status }"
LINES = "order { id version status lines { nodes { id } } }"


def _declared_moves(entity: str) -> set[tuple[str, str]]:
    moves = set()
    for transition in MACHINES[entity].transitions.values():
        for source in transition.sources:
            for target in transition.targets or (source,):
                moves.add((source, target))
    return moves


LINE_LISTS = st.lists(st.tuples(st.integers(0, 2), st.integers(1, 6)), min_size=1, max_size=3)

DECLARED = {"Order": _declared_moves("Order"), "Invoice": _declared_moves("Invoice")}


class Workflows(RuleBasedStateMachine):
    """Commands as rules; the invariants as SQL over what the commands left."""

    # Set by the test before the machine runs.
    loop: asyncio.AbstractEventLoop
    client: Any
    url: Any
    admin: str

    orders = Bundle("orders")
    invoices = Bundle("invoices")

    def _call(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        future = asyncio.run_coroutine_threadsafe(data(self.client, document, variables, token=self.admin), self.loop)
        (payload,) = future.result(timeout=60).values()
        return payload

    @initialize()
    def setup(self) -> None:
        run = next(_runs)
        self.products: list[str] = []
        for i, (price, rate) in enumerate([("19.99", "0.2000"), ("0.35", "0.0700"), ("250.00", "0.1900")]):
            payload = self._call(
                "mutation($input: CreateProductInput!) {"
                " createProduct(input: $input) { product { id } errors { code } } }",
                {
                    "input": {
                        "sku": f"PROP-{run}-{i}",
                        "name": f"Property item {i}",
                        "unitPrice": price,
                        "taxRate": rate,
                        "stockOnHand": 12,
                    }
                },
            )
            assert payload["errors"] == []
            self.products.append(payload["product"]["id"])
        self.product_ids = [
            int(sql(self.url, "SELECT id FROM products WHERE sku = %s", f"PROP-{run}-{i}")[0][0]) for i in range(3)
        ]
        customer = self._call(
            "mutation($input: CreateCustomerInput!) {"
            " createCustomer(input: $input) { customer { id } errors { code } } }",
            {
                "input": {
                    "name": f"Property buyer {run}",
                    "kind": "COMPANY",
                    "segment": "ENTERPRISE",
                    "country": "US",
                    "creditLimit": "5000.00",
                    "paymentTermsDays": 14,
                }
            },
        )
        self.customer = customer["customer"]["id"]
        self._call(
            "mutation($input: CustomerTransitionInput!) { activateCustomer(input: $input) { errors { code } } }",
            {"input": {"id": self.customer}},
        )
        self.customer_id = int(sql(self.url, "SELECT id FROM customers WHERE name = %s", f"Property buyer {run}")[0][0])
        self.statuses = self._statuses()
        self.issued = self._issued_invoices()

    # -- commands ---------------------------------------------------------------------

    @rule(target=orders, lines=LINE_LISTS)
    def create_order(self, lines):
        return self._create(lines)

    @rule(target=orders, lines=LINE_LISTS)
    def create_and_place_order(self, lines):
        """Most interesting sequences start with a placed order: one step gets there."""
        order = self._create(lines)
        self._move("placeOrder", "PlaceOrderInput", order)
        return order

    def _create(self, lines) -> str:
        payload = self._call(
            f"mutation($input: CreateOrderInput!) {{ createOrder(input: $input) {{ {ORDER} errors {{ code }} }} }}",
            {
                "input": {
                    "customerId": self.customer,
                    "lines": [{"productId": self.products[p], "quantity": q} for p, q in lines],
                }
            },
        )
        assert payload["errors"] == [], payload["errors"]
        return payload["order"]["id"]

    @rule(order=orders, product=st.integers(0, 2), quantity=st.integers(-1, 8))
    def add_line(self, order, product, quantity):
        self._call(
            f"mutation($input: AddOrderLineInput!) {{ addOrderLine(input: $input) {{ {ORDER} errors {{ code }} }} }}",
            {"input": {"orderId": order, "productId": self.products[product], "quantity": quantity}},
        )

    @rule(order=orders)
    def remove_first_line(self, order):
        found = sql(self.url, "SELECT min(id) FROM order_lines WHERE order_id = %s", pk(order, "Order"))[0][0]
        if found is not None:
            self._call(
                "mutation($input: RemoveOrderLineInput!) {"
                f" removeOrderLine(input: $input) {{ {ORDER} errors {{ code }} }} }}",
                {"input": {"lineId": gid("OrderLine", found)}},
            )

    def _move(self, mutation: str, input_type: str, order: str) -> None:
        self._call(
            f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {ORDER} errors {{ code }} }} }}",
            {"input": {"id": order}},
        )

    @rule(order=orders)
    def place(self, order):
        self._move("placeOrder", "PlaceOrderInput", order)

    @rule(order=orders)
    def approve(self, order):
        self._move("approveOrder", "OrderTransitionInput", order)

    @rule(order=orders)
    def fulfil(self, order):
        self._move("fulfilOrder", "OrderTransitionInput", order)

    @rule(order=orders)
    def cancel(self, order):
        self._move("cancelOrder", "CancelOrderInput", order)

    @rule(product=st.integers(0, 2), delta=st.integers(-15, 15).filter(bool))
    def adjust_stock(self, product, delta):
        self._call(
            "mutation($input: AdjustStockInput!) { adjustStock(input: $input) { product { id } errors { code } } }",
            {"input": {"id": self.products[product], "delta": delta, "reason": "property test"}},
        )

    @rule(target=invoices, lines=LINE_LISTS)
    def sell_and_invoice(self, lines):
        """An order placed (approved: below the threshold) and invoiced in one step."""
        order = self._create(lines)
        self._move("placeOrder", "PlaceOrderInput", order)
        return self.issue_invoice(order)

    @rule(target=invoices, order=orders)
    def issue_invoice(self, order):
        payload = self._call(
            "mutation($input: IssueInvoiceInput!) { issueInvoice(input: $input) { invoice { id } errors { code } } }",
            {"input": {"orderId": order}},
        )
        return payload["invoice"]["id"] if payload["invoice"] else "SW52b2ljZTo5OTk5OTk5OTk="  # Invoice:999999999

    @rule(invoice=invoices, percent=st.integers(-10, 130))
    def pay(self, invoice, percent):
        """A share of what is due: partial, in full, nothing, negative, or too much."""
        due = sql(
            self.url, "SELECT coalesce(sum(total - amount_paid), 0) FROM invoices WHERE id = %s", pk(invoice, "Invoice")
        )[0][0]
        amount = (Decimal(due) * percent / 100).quantize(Decimal("0.01"))
        self._call(
            "mutation($input: RecordPaymentInput!) { recordPayment(input: $input) { payment { id } errors { code } } }",
            {"input": {"invoiceId": invoice, "amount": str(amount), "method": "BANK_TRANSFER"}},
        )

    @rule(invoice=consumes(invoices))
    def void(self, invoice):
        self._call(
            "mutation($input: VoidInvoiceInput!) { voidInvoice(input: $input) { invoice { id } errors { code } } }",
            {"input": {"id": invoice}},
        )

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def order_totals_add_up(self):
        broken = sql(
            self.url,
            """SELECT o.id FROM orders o
               LEFT JOIN LATERAL (SELECT coalesce(sum(l.line_total), 0) AS subtotal,
                                         coalesce(sum(round(l.line_total * l.tax_rate, 2)), 0) AS tax
                                  FROM order_lines l WHERE l.order_id = o.id) s ON TRUE
               WHERE o.customer_id = %s
                 AND (o.subtotal <> s.subtotal OR o.tax <> s.tax OR o.total <> s.subtotal + s.tax)""",
            self.customer_id,
        )
        assert broken == []

    @invariant()
    def invoices_are_paid_within_their_totals(self):
        broken = sql(
            self.url,
            """SELECT i.id FROM invoices i
               WHERE i.customer_id = %s
                 AND (i.amount_paid <> (SELECT coalesce(sum(p.amount), 0) FROM payments p WHERE p.invoice_id = i.id)
                      OR i.total - i.amount_paid < 0)""",
            self.customer_id,
        )
        assert broken == []

    @invariant()
    def stock_is_never_negative_and_reservations_match_open_orders(self):
        rows = sql(
            self.url,
            """SELECT p.id, p.stock_on_hand, p.stock_reserved,
                      (SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id
                       WHERE l.product_id = p.id AND o.status IN ('placed', 'approved'))
               FROM products p WHERE p.id = ANY(%s)""",
            self.product_ids,
        )
        for _, on_hand, reserved, held in rows:
            assert on_hand >= 0 and 0 <= reserved <= on_hand
            assert reserved == held

    @invariant()
    def only_declared_transitions_happen(self):
        now = self._statuses()
        for key, status in now.items():
            before = self.statuses.get(key)
            if before is not None and before != status:
                assert (before, status) in DECLARED[key[0]], (key, before, status)
        self.statuses = now

    @invariant()
    def issued_invoices_never_change(self):
        now = self._issued_invoices()
        for invoice_id, facts in self.issued.items():
            assert now[invoice_id] == facts
        self.issued = now

    @invariant()
    def invoice_numbers_have_no_gaps_or_duplicates(self):
        for year, count, distinct, low, high in sql(
            self.url,
            "SELECT year, count(*), count(DISTINCT seq), min(seq), max(seq) FROM invoices"
            " WHERE org_id = %s AND seq IS NOT NULL GROUP BY year",
            ORG,
        ):
            assert count == distinct == high - low + 1 and low == 1, year

    def _statuses(self) -> dict[tuple[str, int], str]:
        orders = sql(self.url, "SELECT id, status FROM orders WHERE customer_id = %s", self.customer_id)
        invoices = sql(self.url, "SELECT id, status FROM invoices WHERE customer_id = %s", self.customer_id)
        return {**{("Order", pk): s for pk, s in orders}, **{("Invoice", pk): s for pk, s in invoices}}

    def _issued_invoices(self) -> dict[int, tuple]:
        rows = sql(
            self.url,
            """SELECT i.id, i.number, i.year, i.seq, i.order_id, i.subtotal, i.tax, i.total, i.issued_at, i.due_at,
                      (SELECT array_agg(ARRAY[l.line_no::text, l.sku, l.quantity::text, l.unit_price::text,
                                              l.line_total::text]
                                        ORDER BY l.line_no) FROM invoice_lines l WHERE l.invoice_id = i.id)
               FROM invoices i WHERE i.customer_id = %s AND i.issued_at IS NOT NULL""",
            self.customer_id,
        )
        return {row[0]: row[1:] for row in rows}


async def test_business_invariants_hold_for_any_sequence_of_commands(writes_client, writes_settings):
    Workflows.loop = asyncio.get_running_loop()
    Workflows.client = writes_client
    Workflows.url = writes_settings.database_url
    Workflows.admin = token(writes_settings, "admin")
    Workflows.TestCase.settings = settings(
        max_examples=20,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    await asyncio.to_thread(Workflows.TestCase().runTest)
