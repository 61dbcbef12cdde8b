"""The policy table compiled to SQL for one principal.

Every table the planner reads gets the organization predicate and the row scopes
of the principal's roles (OR-ed); a sensitive field readable on some rows only is
wrapped in ``CASE WHEN <its scopes> THEN <value> END``. The decisions themselves
come from ``app.auth.access``; this module only knows what each scope means in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.access import ALLOWED, DENIED, FieldAccess, aggregate_scopes, field_access, row_scopes
from app.auth.policy import (
    ALL,
    LEDGER_RECORDS,
    MY_CUSTOMER,
    MY_REPORTS,
    MYSELF,
    OWN_ACCOUNTS,
    PEOPLE_RECORDS,
    TEAM_SALES,
)
from app.auth.principal import Principal
from resolvers.planner.catalog import Entity
from resolvers.planner.sqltext import SqlParams

# Templates over {t} (the row's alias); %(org)s, %(me_employee)s and %(me_customer)s
# are bound once per statement. The subqueries are uncorrelated: PostgreSQL turns
# ``x IN (…)`` into a semi-join (hashed or by index), so over a root list it runs
# once; inside a nested relation it runs again per parent row, as primary-key
# lookups (measured ~3 µs each: bench/results/authorization.md).
_OWN_CUSTOMERS = (
    "(SELECT sc.id FROM customers sc WHERE sc.org_id = %(org)s AND sc.account_manager_id = %(me_employee)s)"
)
_OWN_ORDERS = f"(SELECT so.id FROM orders so WHERE so.org_id = %(org)s AND so.customer_id IN {_OWN_CUSTOMERS})"
_OWN_INVOICES = f"(SELECT si.id FROM invoices si WHERE si.org_id = %(org)s AND si.customer_id IN {_OWN_CUSTOMERS})"
_MY_ORDERS = "(SELECT so.id FROM orders so WHERE so.org_id = %(org)s AND so.customer_id = %(me_customer)s)"
_MY_INVOICES = "(SELECT si.id FROM invoices si WHERE si.org_id = %(org)s AND si.customer_id = %(me_customer)s)"
# The whole management chain below the principal; UNION (not UNION ALL) also
# ends the recursion should the tree ever contain a cycle.
_MY_REPORTS = (
    "(WITH RECURSIVE chain(id) AS ("
    "SELECT se.id FROM employees se WHERE se.org_id = %(org)s AND se.manager_id = %(me_employee)s"
    " UNION SELECT se.id FROM employees se JOIN chain ON se.manager_id = chain.id WHERE se.org_id = %(org)s"
    ") SELECT id FROM chain)"
)

_TEAM_ORDERS = f"(SELECT so.id FROM orders so WHERE so.org_id = %(org)s AND so.sales_rep_id IN {_MY_REPORTS})"

_LEDGER_TYPES = "('Customer', 'Product', 'Order', 'Invoice', 'Payment')"
_PEOPLE_TYPES = "('Employee', 'Department')"

SCOPE_SQL: dict[str, dict[str, str]] = {
    OWN_ACCOUNTS: {
        "Customer": "{t}.account_manager_id = %(me_employee)s",
        "Order": "{t}.customer_id IN " + _OWN_CUSTOMERS,
        "Invoice": "{t}.customer_id IN " + _OWN_CUSTOMERS,
        "OrderLine": "{t}.order_id IN " + _OWN_ORDERS,
        "InvoiceLine": "{t}.invoice_id IN " + _OWN_INVOICES,
        "Payment": "{t}.invoice_id IN " + _OWN_INVOICES,
    },
    MY_CUSTOMER: {
        "Customer": "{t}.id = %(me_customer)s",
        "Order": "{t}.customer_id = %(me_customer)s",
        "Invoice": "{t}.customer_id = %(me_customer)s",
        "OrderLine": "{t}.order_id IN " + _MY_ORDERS,
        "InvoiceLine": "{t}.invoice_id IN " + _MY_INVOICES,
        "Payment": "{t}.invoice_id IN " + _MY_INVOICES,
    },
    MY_REPORTS: {
        "Employee": "{t}.id IN " + _MY_REPORTS,
        "EmploymentEvent": "{t}.employee_id IN " + _MY_REPORTS,
    },
    TEAM_SALES: {
        "Customer": f"{{t}}.id IN (SELECT so.customer_id FROM orders so WHERE so.org_id = %(org)s"
        f" AND so.sales_rep_id IN {_MY_REPORTS})",
        "Order": "{t}.sales_rep_id IN " + _MY_REPORTS,
        "OrderLine": "{t}.order_id IN " + _TEAM_ORDERS,
    },
    LEDGER_RECORDS: {
        "AuditEntry": "{t}.entity_type IN " + _LEDGER_TYPES,
        "IntegrationEvent": "{t}.entity_type IN " + _LEDGER_TYPES,
    },
    PEOPLE_RECORDS: {
        "AuditEntry": "{t}.entity_type IN " + _PEOPLE_TYPES,
        "IntegrationEvent": "{t}.entity_type IN " + _PEOPLE_TYPES,
    },
    MYSELF: {
        "Employee": "{t}.id = %(me_employee)s",
        "EmploymentEvent": "{t}.employee_id = %(me_employee)s",
    },
}

# What each personal scope is anchored on; without that link the scope is empty.
_ANCHOR = {
    OWN_ACCOUNTS: "employee_id",
    MY_REPORTS: "employee_id",
    MYSELF: "employee_id",
    TEAM_SALES: "employee_id",
    MY_CUSTOMER: "customer_id",
}


@dataclass(frozen=True)
class FieldGuard:
    """How a field is fetched: as is, never (``NULL``), or on some rows only."""

    access: FieldAccess
    readable_sql: str | None = None  # for "some rows": the rows it may be read on

    @property
    def restricted(self) -> bool:
        return self.access is not ALLOWED


class Access:
    """One principal's policy as SQL predicates; implements the planner's row scope."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.org_id = principal.org_id
        self.roles = principal.roles

    def _bind_principal(self, params: SqlParams) -> None:
        params.values.setdefault("org", self.org_id)
        params.values.setdefault("me_employee", self.principal.employee_id)
        params.values.setdefault("me_customer", self.principal.customer_id)

    def _scopes_sql(self, entity_name: str, scopes: frozenset[str], alias: str) -> str:
        if ALL in scopes:
            return "TRUE"
        parts = []
        for scope in sorted(scopes):
            anchor = _ANCHOR.get(scope)
            if anchor is not None and getattr(self.principal, anchor) is None:
                continue
            parts.append(SCOPE_SQL[scope][entity_name].format(t=alias))
        if not parts:
            return "FALSE"
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def rows(self, entity: Entity, alias: str, params: SqlParams) -> str:
        """The rows of ``entity`` (aliased ``alias``) that exist for the principal."""
        return self._predicate(entity, row_scopes(entity.name, self.roles), alias, params)

    def acting_rows(self, entity: Entity, roles: frozenset[str], alias: str, params: SqlParams) -> str:
        """The rows of ``entity`` the principal may act on in any of ``roles``: the
        rows its roles among them see (a command's row scope)."""
        return self._predicate(entity, row_scopes(entity.name, self.roles & roles), alias, params)

    def aggregate_rows(self, entity: Entity, alias: str, params: SqlParams) -> str | None:
        """The rows an aggregate may summarise, or None if the principal may not aggregate them."""
        scopes = aggregate_scopes(entity.name, self.roles)
        return self._predicate(entity, scopes, alias, params) if scopes else None

    def _predicate(self, entity: Entity, scopes: frozenset[str], alias: str, params: SqlParams) -> str:
        self._bind_principal(params)
        if not scopes:
            return "FALSE"
        org = f"{alias}.org_id = %(org)s"
        scope = self._scopes_sql(entity.name, scopes, alias)
        return org if scope == "TRUE" else f"{org} AND {scope}"

    def field(self, entity: Entity, field_name: str, alias: str, params: SqlParams) -> FieldGuard:
        access = field_access(entity.name, field_name, self.roles)
        if access is ALLOWED or access is DENIED:
            return FieldGuard(access)
        self._bind_principal(params)
        return FieldGuard(access, self._scopes_sql(entity.name, access.scopes, alias))
