"""What a simulated action does: find something to act on, as the acting user sees it, and run
the business commands a person would run on it, each in a transaction of its own as the API's
mutations would (``CommandService.run``).

The row a step picks is taken in the command's own transaction, so it is locked and re-checked by
the command itself; ``FOR UPDATE SKIP LOCKED`` keeps concurrent actions off each other's rows. A
refusal (no stock left, the customer's credit used up) rolls back the command as a refused
mutation would, and the action raises ``Refused``.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from app.models.states import PAYMENT_METHODS
from app.workflows import COMMANDS, INVOICE, ORDER
from resolvers.invoices.commands import issue_invoice, record_payment
from resolvers.invoices.inputs import IssueInvoice, RecordPayment
from resolvers.orders.commands import approve_order, cancel_order, create_order, fulfil_order, place_order
from resolvers.orders.inputs import ApproveOrder, CancelOrder, CreateOrder, FulfilOrder, OrderLine, PlaceOrder
from resolvers.products.commands import adjust_stock
from resolvers.products.inputs import AdjustStock
from resolvers.writes.lifecycle import acting_roles
from resolvers.writes.runner import CommandService, Outcome
from resolvers.writes.session import WriteSession

CENT = Decimal("0.01")
# Below this many units free, a product gets a goods receipt, so a long run does not run dry.
LOW_STOCK = 20
# Most payments settle the invoice; the rest pay part of it.
PARTIAL_PAYMENT_SHARE = 0.3

Step = Callable[[WriteSession], Awaitable[Outcome]]


class Refused(Exception):
    """A command said no, with the code a mutation's payload would carry."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Actor:
    """One user running commands, each in its own transaction."""

    service: CommandService

    async def do(self, step: Step) -> Outcome:
        result = await self.service.run(step, {})
        if result.errors:
            raise Refused(result.errors[0].code)
        return Outcome(values=result.values)


# What an action did (a ``Tally`` key), or None when there was nothing for it to do.
Perform = Callable[[Actor, random.Random], Awaitable[str | None]]


@dataclass(frozen=True)
class Action:
    """One kind of activity: its share of all actions, who may do it, and what it does."""

    name: str
    weight: int
    roles: frozenset[str]
    perform: Perform


def did(what: str, **values: object) -> Outcome:
    return Outcome(values={"did": what, **values})


def one_step(step: Callable[[WriteSession, random.Random], Awaitable[Outcome]]) -> Perform:
    async def perform(actor: Actor, chance: random.Random) -> str | None:
        outcome = await actor.do(lambda session: step(session, chance))
        what = outcome.values.get("did")
        return None if what is None else str(what)

    return perform


_NOT_INVOICED = "NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = t.id AND i.status <> 'void')"


async def _pick(session: WriteSession, table: str, type_name: str, roles: frozenset[str], where: str) -> int | None:
    """A random row of ``table`` matching ``where`` that the principal may act on in ``roles``."""
    scope, params = session.scope(type_name, "t", acting_roles(session, roles))
    pk: int | None = await session.value(
        f"SELECT t.id FROM {table} t WHERE t.org_id = %(org)s AND {where} AND {scope}"
        " ORDER BY random() LIMIT 1 FOR UPDATE OF t SKIP LOCKED",
        params,
    )
    return pk


async def draft_order(session: WriteSession, chance: random.Random) -> Outcome:
    """A rep's draft for one of the rep's active customers: one to four products in stock."""
    scope, params = session.scope("Customer", "t", acting_roles(session, ORDER.creators))
    customer = await session.value(
        f"SELECT t.id FROM customers t WHERE t.org_id = %(org)s AND t.status = 'active' AND {scope}"
        " ORDER BY random() LIMIT 1",
        params,
    )
    products = await session.rows(
        "SELECT id, stock_on_hand - stock_reserved AS free FROM products"
        " WHERE org_id = %(org)s AND active AND stock_on_hand - stock_reserved > 0"
        " ORDER BY random() LIMIT %(lines)s",
        {"lines": chance.randint(1, 4)},
    )
    if customer is None or not products:
        return Outcome()
    lines = tuple(OrderLine(p["id"], chance.randint(1, min(5, p["free"]))) for p in products)
    draft = await create_order(session, CreateOrder(customer_id=customer, lines=lines))
    return Outcome(values={"order": draft.pk})


async def place_draft(session: WriteSession, pk: int) -> Outcome:
    """Placed; approved at once when within the organization's threshold."""
    await place_order(session, PlaceOrder(id=pk))
    status = await session.value("SELECT status FROM orders WHERE id = %(pk)s", {"pk": pk})
    return did("placed_approved" if status == "approved" else "placed")


async def place_new_order(actor: Actor, chance: random.Random) -> str | None:
    """Drafted, then placed, as two requests; a draft that cannot be placed is cancelled, so
    none is left lying about."""
    draft = (await actor.do(lambda session: draft_order(session, chance))).values.get("order")
    if not isinstance(draft, int):
        return None
    try:
        placed = await actor.do(lambda session: place_draft(session, draft))
    except Refused as refused:
        reason = f"could not be placed ({refused.code})"
        await actor.do(lambda session: cancel_order(session, CancelOrder(id=draft, reason=reason)))
        raise
    return str(placed.values["did"])


async def approve_placed_order(session: WriteSession, chance: random.Random) -> Outcome:
    step = ORDER["APPROVE"]
    pk = await _pick(session, "orders", "Order", step.roles, "t.status = 'placed'")
    if pk is None:
        return Outcome()
    await approve_order(session, ApproveOrder(id=pk))
    return did("approved", order=pk)


async def cancel_open_order(session: WriteSession, chance: random.Random) -> Outcome:
    """The customer changed its mind: a placed or approved order not yet invoiced."""
    step = ORDER["CANCEL"]
    pk = await _pick(session, "orders", "Order", step.roles, f"t.status IN ('placed', 'approved') AND {_NOT_INVOICED}")
    if pk is None:
        return Outcome()
    await cancel_order(session, CancelOrder(id=pk, reason="the customer withdrew the order"))
    return did("cancelled", order=pk)


async def fulfil_approved_order(session: WriteSession, chance: random.Random) -> Outcome:
    step = ORDER["FULFIL"]
    pk = await _pick(session, "orders", "Order", step.roles, "t.status = 'approved'")
    if pk is None:
        return Outcome()
    await fulfil_order(session, FulfilOrder(id=pk))
    return did("fulfilled", order=pk)


async def invoice_approved_order(session: WriteSession, chance: random.Random) -> Outcome:
    step = ORDER["INVOICE"]
    not_invoiced = "NOT EXISTS (SELECT 1 FROM invoices i WHERE i.order_id = t.id AND i.status <> 'void')"
    pk = await _pick(
        session, "orders", "Order", step.roles, f"t.status IN ('approved', 'fulfilled') AND {not_invoiced}"
    )
    if pk is None:
        return Outcome()
    invoice = await issue_invoice(session, IssueInvoice(order_id=pk))
    return did("invoiced", invoice=invoice.pk)


async def pay_open_invoice(session: WriteSession, chance: random.Random) -> Outcome:
    """A payment on an open invoice: usually what is due, sometimes part of it."""
    step = INVOICE["RECORD_PAYMENT"]
    pk = await _pick(session, "invoices", "Invoice", step.roles, "t.status IN ('issued', 'partially_paid', 'overdue')")
    if pk is None:
        return Outcome()
    due: Decimal = await session.value("SELECT total - amount_paid FROM invoices WHERE id = %(pk)s", {"pk": pk})
    partial = due > CENT and chance.random() < PARTIAL_PAYMENT_SHARE
    amount = (due * Decimal(chance.uniform(0.2, 0.8))).quantize(CENT, ROUND_DOWN) if partial else due
    amount = max(amount, CENT)
    method = chance.choice(PAYMENT_METHODS)
    await record_payment(session, RecordPayment(invoice_id=pk, amount=amount, method=method))
    return did("paid_partly" if amount < due else "paid", invoice=pk)


async def restock_product(session: WriteSession, chance: random.Random) -> Outcome:
    """A goods receipt for a product running low."""
    pk = await session.value(
        "SELECT id FROM products WHERE org_id = %(org)s AND active AND stock_on_hand - stock_reserved < %(low)s"
        " ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED",
        {"low": LOW_STOCK},
    )
    if pk is None:
        return Outcome()
    delta = chance.randrange(50, 201, 10)
    await adjust_stock(session, AdjustStock(id=pk, delta=delta, reason="goods receipt"))
    return did("restocked", product=pk)


# Weights: for every ten orders placed, about as many invoices and payments follow, a few
# approvals of orders above the threshold, the odd fulfilment and cancellation.
PLACE = Action("place", 10, ORDER.creators, place_new_order)
ACTIONS: tuple[Action, ...] = (
    PLACE,
    Action("approve", 3, ORDER["APPROVE"].roles, one_step(approve_placed_order)),
    Action("invoice", 8, ORDER["INVOICE"].roles, one_step(invoice_approved_order)),
    Action("pay", 8, INVOICE["RECORD_PAYMENT"].roles, one_step(pay_open_invoice)),
    Action("fulfil", 2, ORDER["FULFIL"].roles, one_step(fulfil_approved_order)),
    Action("cancel", 1, ORDER["CANCEL"].roles, one_step(cancel_open_order)),
    Action("restock", 1, COMMANDS["adjust_stock"], one_step(restock_product)),
)


def choose(chance: random.Random) -> Action:
    return chance.choices(ACTIONS, weights=[action.weight for action in ACTIONS])[0]
