"""The state machines of bizgraph: who may change what, from which state to which.

This is the write half of the policy (``app/auth/policy.py`` is the read half),
and the one place the lifecycles are declared. For each entity with a lifecycle:

- ``transitions``: each action, the states it may start from (``sources``), the
  state it leads to (``targets``; none when the state stays, as for an edit),
  the roles that may perform it, the guards it must pass and the integration
  event it announces;
- ``creators``: the roles that may create the entity.

A role acts only on the rows the read policy shows it (``ROWS``): sales acts on
its own accounts' orders, a manager on the orders of its reports' sales.
Guards are conditions on the entity's own row, written as SQL over ``{t}`` (the
row's alias): the same SQL decides the check when the action runs and the
``availableTransitions`` a reader is shown, so the two cannot disagree. Rules
that need locks on other rows (stock, credit) are checked by the action itself.

Commands without a lifecycle (products, and the sweep) are in ``COMMANDS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app.models.states import CUSTOMER_STATUSES, EMPLOYEE_STATUSES, INVOICE_STATUSES, ORDER_STATUSES


@dataclass(frozen=True)
class Guard:
    """A condition on the row, as SQL over ``{t}``; failing it refuses the action with ``code``."""

    sql: str
    code: str
    message: str


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    roles: frozenset[str]
    description: str
    guards: tuple[Guard, ...] = ()
    event: str | None = None

    def leads_to(self, state: str) -> bool:
        return state in self.targets or (not self.targets and state in self.sources)


@dataclass(frozen=True)
class Machine:
    entity: str
    states: tuple[str, ...]
    creators: frozenset[str]
    transitions: Mapping[str, Transition] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Transition:
        return self.transitions[name]


def _machine(entity: str, states: tuple[str, ...], creators: tuple[str, ...], *transitions: Transition) -> Machine:
    for t in transitions:
        unknown = set(t.sources + t.targets) - set(states)
        if unknown:
            raise ValueError(f"{entity}.{t.name}: undeclared states {sorted(unknown)}")
    return Machine(entity, states, frozenset(creators), MappingProxyType({t.name: t for t in transitions}))


def _t(
    name: str,
    sources: Iterable[str],
    targets: Iterable[str],
    roles: Iterable[str],
    description: str,
    *guards: Guard,
    event: str | None = None,
) -> Transition:
    return Transition(name, tuple(sources), tuple(targets), frozenset(roles), description, guards, event)


_HAS_LINES = Guard(
    "EXISTS (SELECT 1 FROM order_lines gl WHERE gl.order_id = {t}.id)", "EMPTY_ORDER", "the order has no lines"
)
_CUSTOMER_ACTIVE = Guard(
    "EXISTS (SELECT 1 FROM customers gc WHERE gc.id = {t}.customer_id AND gc.status = 'active')",
    "CUSTOMER_NOT_ACTIVE",
    "the order's customer is not active",
)
_NOT_INVOICED = Guard(
    "NOT EXISTS (SELECT 1 FROM invoices gi WHERE gi.order_id = {t}.id AND gi.status <> 'void')",
    "INVALID_TRANSITION",
    "the order has an invoice (void it first)",
)
_NO_PAYMENTS = Guard("{t}.amount_paid = 0", "HAS_PAYMENTS", "the invoice has payments")
_PAST_DUE = Guard("{t}.due_at < now()", "INVALID_TRANSITION", "the invoice is not past its due date")

_SELLERS = ("admin", "sales")
_LEDGER = ("admin", "finance")
_ACCOUNTS = ("admin", "sales", "finance")
_PEOPLE = ("admin", "hr")

ORDER = _machine(
    "Order",
    ORDER_STATUSES,
    _SELLERS,
    _t("EDIT", ["draft"], [], _SELLERS, "Change the lines of a draft.", event="order.updated"),
    _t(
        "PLACE",
        ["draft"],
        ["placed", "approved"],
        _SELLERS,
        "Reserve the stock and submit the order; above the organization's approval threshold it waits for approval.",
        _HAS_LINES,
        _CUSTOMER_ACTIVE,
        event="order.placed",
    ),
    _t(
        "APPROVE",
        ["placed"],
        ["approved"],
        ("admin", "finance", "manager"),
        "Approve a placed order above the threshold (finance, or a manager of its sales rep).",
        event="order.approved",
    ),
    _t(
        "FULFIL",
        ["approved"],
        ["fulfilled"],
        _SELLERS,
        "Ship the order: reserved stock leaves the warehouse.",
        event="order.fulfilled",
    ),
    _t(
        "CANCEL",
        ["draft", "placed", "approved"],
        ["cancelled"],
        _ACCOUNTS,
        "Cancel the order and release its reserved stock.",
        _NOT_INVOICED,
        event="order.cancelled",
    ),
    _t("INVOICE", ["approved", "fulfilled"], [], _LEDGER, "Issue the order's invoice.", _NOT_INVOICED, event=None),
)

INVOICE = _machine(
    "Invoice",
    INVOICE_STATUSES,
    _LEDGER,
    _t(
        "RECORD_PAYMENT",
        ["issued", "partially_paid", "overdue"],
        ["partially_paid", "paid", "overdue"],
        _LEDGER,
        "Record a payment, partial or in full.",
        event="invoice.payment_recorded",
    ),
    _t(
        "VOID",
        ["draft", "issued", "overdue"],
        ["void"],
        _LEDGER,
        "Void an invoice without payments.",
        _NO_PAYMENTS,
        event="invoice.voided",
    ),
    _t(
        "MARK_OVERDUE",
        ["issued", "partially_paid"],
        ["overdue"],
        _LEDGER,
        "Mark an invoice past its due date as overdue.",
        _PAST_DUE,
        event="invoice.overdue",
    ),
)

CUSTOMER = _machine(
    "Customer",
    CUSTOMER_STATUSES,
    _ACCOUNTS,
    _t(
        "EDIT",
        ["lead", "active", "inactive"],
        [],
        _ACCOUNTS,
        "Change the customer's details.",
        event="customer.updated",
    ),
    # A customer chooses its own emails; the staff who deal with the account may too.
    _t(
        "SET_EMAIL_OPT_OUTS",
        ["lead", "active", "inactive"],
        [],
        (*_ACCOUNTS, "customer"),
        "Choose which kinds of email the customer gets.",
        event="customer.updated",
    ),
    _t(
        "ACTIVATE",
        ["lead"],
        ["active"],
        _ACCOUNTS,
        "Convert a lead into an active customer.",
        event="customer.activated",
    ),
    _t(
        "DEACTIVATE",
        ["lead", "active"],
        ["inactive"],
        _ACCOUNTS,
        "Stop doing business with the customer.",
        event="customer.deactivated",
    ),
    _t(
        "REACTIVATE",
        ["inactive"],
        ["active"],
        _LEDGER,
        "Do business with an inactive customer again.",
        event="customer.reactivated",
    ),
)

_EMPLOYED = ["onboarding", "active", "on_leave"]
_FIRST_DAY_CAME = Guard(
    "{t}.hired_on <= CURRENT_DATE", "INVALID_TRANSITION", "the employee's first day (hiredOn) is still ahead"
)
# Reports who have left keep their manager_id (history); only employed ones count.
_NO_REPORTS = Guard(
    "NOT EXISTS (SELECT 1 FROM employees gr WHERE gr.manager_id = {t}.id"
    " AND gr.status IN ('onboarding', 'active', 'on_leave'))",
    "HAS_REPORTS",
    "the employee still manages employed people: transfer them to another manager first",
)

EMPLOYEE = _machine(
    "Employee",
    EMPLOYEE_STATUSES,
    _PEOPLE,
    _t("EDIT", _EMPLOYED, [], _PEOPLE, "Change the employee's details.", event="employee.updated"),
    _t(
        "ACTIVATE",
        ["onboarding"],
        ["active"],
        _PEOPLE,
        "The employee's first working day.",
        _FIRST_DAY_CAME,
        event="employee.activated",
    ),
    _t("TRANSFER", _EMPLOYED, [], _PEOPLE, "Move to another department and/or manager.", event="employee.transferred"),
    _t("CHANGE_SALARY", _EMPLOYED, [], _PEOPLE, "Change the salary.", event="employee.salary_changed"),
    _t("START_LEAVE", ["active"], ["on_leave"], _PEOPLE, "Start a leave of absence.", event="employee.leave_started"),
    _t("END_LEAVE", ["on_leave"], ["active"], _PEOPLE, "Come back from leave.", event="employee.leave_ended"),
    _t(
        "TERMINATE", _EMPLOYED, ["terminated"], _PEOPLE, "End the employment.", _NO_REPORTS, event="employee.terminated"
    ),
    _t("RETIRE", ["active", "on_leave"], ["retired"], _PEOPLE, "Retire.", _NO_REPORTS, event="employee.retired"),
)

MACHINES: Mapping[str, Machine] = MappingProxyType({m.entity: m for m in (ORDER, INVOICE, CUSTOMER, EMPLOYEE)})

# Commands outside the lifecycles: who may run them.
COMMANDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "create_product": frozenset(_LEDGER),
        "update_product": frozenset(_LEDGER),
        "adjust_stock": frozenset(_LEDGER),
        "sweep_overdue_invoices": frozenset(_LEDGER),
        # Create, change, enable, disable, delete, rotate, ping, redeliver, replay.
        "manage_webhooks": frozenset({"admin"}),
    }
)
