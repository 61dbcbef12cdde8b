"""Which changes of the sales ledger can concern a principal's reads at all.

The policy confines a customer's reads of customers, orders, invoices, their lines and
payments to its own customer record (``MY_CUSTOMER``), and a sales rep's to the customers
it manages (``OWN_ACCOUNTS``). The change feed names, for every change of those tables,
the customers it touched and their account managers (alembic 0009). A change that names
neither the principal's customer nor its employee cannot change what it reads from that
table, so its live queries need not run again; a table the principal reads more widely
(an analyst's ``ALL``, a manager's team) is concerned by every change, as is a change
whose anchors are unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from app.auth.access import aggregate_scopes, row_scopes
from app.auth.policy import MY_CUSTOMER, OWN_ACCOUNTS
from app.auth.principal import Principal
from app.live.changes import Change

# The tables whose changes carry anchors (alembic 0009), by the policy's type name.
ANCHORED_TABLES = {
    "customers": "Customer",
    "orders": "Order",
    "order_lines": "OrderLine",
    "invoices": "Invoice",
    "invoice_lines": "InvoiceLine",
    "payments": "Payment",
}


class AnchorKind(Enum):
    CUSTOMER = "customer"  # the rows of one customer
    MANAGER = "manager"  # the rows of the customers one employee manages


@dataclass(frozen=True)
class Anchoring:
    """A principal's reads of the anchored tables, each confined to one customer's rows
    or one account manager's; the tables not named here are read without confinement."""

    customer_id: int | None
    employee_id: int | None
    tables: Mapping[str, AnchorKind]

    def anchor(self, table: str) -> tuple[AnchorKind, int] | None:
        """What the principal's reads of ``table`` are confined to; None: not confined."""
        kind = self.tables.get(table)
        if kind is AnchorKind.CUSTOMER and self.customer_id is not None:
            return kind, self.customer_id
        if kind is AnchorKind.MANAGER and self.employee_id is not None:
            return kind, self.employee_id
        return None


def named_anchors(change: Change) -> list[tuple[AnchorKind, int]] | None:
    """The anchors ``change`` names; None when it names none (it may concern anyone)."""
    if change.customers is None or change.managers is None:
        return None
    return [(AnchorKind.CUSTOMER, c) for c in change.customers] + [(AnchorKind.MANAGER, m) for m in change.managers]


def anchoring_of(principal: Principal) -> Anchoring | None:
    """How the policy confines ``principal``'s reads of the anchored tables; None when it
    confines none (every change of a table it reads concerns it)."""
    tables: dict[str, AnchorKind] = {}
    for table, type_name in ANCHORED_TABLES.items():
        # Aggregates count too: an answer may total rows it does not list.
        scopes = row_scopes(type_name, principal.roles) | aggregate_scopes(type_name, principal.roles)
        if scopes == {MY_CUSTOMER} and principal.customer_id is not None:
            tables[table] = AnchorKind.CUSTOMER
        elif scopes == {OWN_ACCOUNTS} and principal.employee_id is not None:
            tables[table] = AnchorKind.MANAGER
    if not tables:
        return None
    return Anchoring(principal.customer_id, principal.employee_id, tables)
