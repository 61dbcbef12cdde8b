"""The policy table: who may read what. The one source of truth (DESIGN §4).

How to read it
--------------
``ROWS`` says, per type, which roles see its rows and which rows they see. A role
not listed sees no row of that type: for that principal the rows do not exist
(lists leave them out, ``node(id:)`` answers null), never "forbidden".

``FIELDS`` names the sensitive fields only. Every field not listed here may be
read by whoever sees the row. A listed field may be read only by the roles it
names, each on the rows of the scope given (``SAME_ROWS`` = the rows that role
sees anyway). Anyone else gets null and a ``FORBIDDEN`` error for that field.

``AGGREGATES`` says who may aggregate a type and over which rows. Aggregates
may sum fields a role cannot read row by row (an analyst totals salaries it
may not see one by one), except in groups smaller than ``SMALL_GROUP``.

Roles add up: a principal sees a row if any of its roles does, and reads a field
on a row if any of its roles may read that field on that row.

``me`` (who you are, your organization, and what this table lets you do) is open
to every principal; the employee and customer records it links to follow the table
like any other read.

The scopes
----------
- ``ALL``: every row of the principal's organization.
- ``OWN_ACCOUNTS``: the customers whose account manager is the principal's
  employee record, and their orders, order lines, invoices, invoice lines and payments.
- ``MY_REPORTS``: the employees below the principal's employee record in the
  management tree, direct and indirect, and their employment history.
- ``MYSELF``: the principal's own employee record and its history.
- ``MY_CUSTOMER``: the principal's customer record and its orders, order lines,
  invoices, invoice lines and payments.
- ``LEDGER_RECORDS``: audit entries and integration events about customers,
  products, orders, invoices and payments.
- ``PEOPLE_RECORDS``: audit entries and integration events about employees and
  departments (they carry salaries: finance does not see them).
- ``TEAM_SALES``: the orders (and their lines and customers) sold by the
  employees below the principal's employee record: what a manager approves.

The SQL behind each scope is in ``resolvers/planner/access.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

ALL = "ALL"
OWN_ACCOUNTS = "OWN_ACCOUNTS"
MY_REPORTS = "MY_REPORTS"
MYSELF = "MYSELF"
MY_CUSTOMER = "MY_CUSTOMER"
TEAM_SALES = "TEAM_SALES"
LEDGER_RECORDS = "LEDGER_RECORDS"
PEOPLE_RECORDS = "PEOPLE_RECORDS"
SAME_ROWS = "SAME_ROWS"

SCOPES = (ALL, OWN_ACCOUNTS, MY_REPORTS, MYSELF, MY_CUSTOMER, TEAM_SALES, LEDGER_RECORDS, PEOPLE_RECORDS)

SCOPE_DESCRIPTIONS = {
    ALL: "every row of the organization",
    OWN_ACCOUNTS: "the customers you manage and their orders, invoices and payments",
    MY_REPORTS: "the employees who report to you, directly or indirectly, and their history",
    MYSELF: "your own employee record and its history",
    MY_CUSTOMER: "your customer account and its orders, invoices and payments",
    TEAM_SALES: "the orders sold by the employees who report to you, directly or indirectly",
    LEDGER_RECORDS: "the audit trail and events of customers, products, orders, invoices and payments",
    PEOPLE_RECORDS: "the audit trail and events of employees and departments",
}

# Everyone on the staff sees the directory of colleagues and departments.
_STAFF = ("admin", "finance", "sales", "hr", "manager", "employee", "analyst")

_SALES_LEDGER = {  # customers, orders, invoices, payments and their lines
    "admin": ALL,
    "finance": ALL,
    "analyst": ALL,
    "sales": OWN_ACCOUNTS,
    "customer": MY_CUSTOMER,
}

ROWS: Mapping[str, Mapping[str, str]] = {
    # Managers see (and approve) the orders their team sold, and whom they sold to.
    "Customer": {**_SALES_LEDGER, "manager": TEAM_SALES},
    "Order": {**_SALES_LEDGER, "manager": TEAM_SALES},
    "OrderLine": {**_SALES_LEDGER, "manager": TEAM_SALES},
    "Invoice": _SALES_LEDGER,
    "InvoiceLine": _SALES_LEDGER,
    "Payment": _SALES_LEDGER,
    # The catalog is public to every signed-in principal, customers included.
    "Product": dict.fromkeys((*_STAFF, "customer"), ALL),
    "Department": dict.fromkeys(_STAFF, ALL),
    "Employee": dict.fromkeys(_STAFF, ALL),
    "EmploymentEvent": {
        "admin": ALL,
        "hr": ALL,
        "analyst": ALL,
        "manager": MY_REPORTS,
        "employee": MYSELF,
    },
    # Who changed what, and the events integrations consume: each role sees its
    # own field's records (audit entries hold before/after values, salaries included).
    "AuditEntry": {"admin": ALL, "finance": LEDGER_RECORDS, "hr": PEOPLE_RECORDS},
    "IntegrationEvent": {"admin": ALL, "finance": LEDGER_RECORDS, "hr": PEOPLE_RECORDS},
    # The emails sent to customers and staff, and every attempt: the organization's admins'.
    "EmailDelivery": {"admin": ALL},
    "EmailAttempt": {"admin": ALL},
    # Webhooks: where the organization's events go, and how each delivery went. Their
    # URLs and logs are the organization's plumbing: admins only (and only admins may
    # change them: COMMANDS in app/workflows.py).
    "WebhookEndpoint": {"admin": ALL},
    "WebhookDelivery": {"admin": ALL},
    "WebhookAttempt": {"admin": ALL},
}

FIELDS: Mapping[str, Mapping[str, Mapping[str, str]]] = {
    "Customer": {
        # Contact details: the people who deal with the account, not analysts.
        "email": {"admin": ALL, "finance": ALL, "sales": SAME_ROWS, "customer": SAME_ROWS},
        "phone": {"admin": ALL, "finance": ALL, "sales": SAME_ROWS, "customer": SAME_ROWS},
        "billingAddress": {"admin": ALL, "finance": ALL, "sales": SAME_ROWS, "customer": SAME_ROWS},
        # Which emails the customer does not want: read and set by those who write to them.
        "emailOptOuts": {"admin": ALL, "finance": ALL, "sales": SAME_ROWS, "customer": SAME_ROWS},
        # Tax and credit: finance's business (and the customer's own).
        "taxId": {"admin": ALL, "finance": ALL, "customer": SAME_ROWS},
        "creditLimit": {"admin": ALL, "finance": ALL, "customer": SAME_ROWS},
    },
    "Employee": {
        # Work contacts are the directory's point, but not data for analysis.
        "email": {role: ALL for role in _STAFF if role != "analyst"},
        "phone": {role: ALL for role in _STAFF if role != "analyst"},
        "salary": {"admin": ALL, "hr": ALL, "manager": MY_REPORTS, "employee": MYSELF},
        "dateOfBirth": {"admin": ALL, "hr": ALL, "employee": MYSELF},
        "nationalId": {"admin": ALL, "hr": ALL, "employee": MYSELF},
    },
    "EmploymentEvent": {
        "salary": {"admin": ALL, "hr": ALL, "manager": SAME_ROWS, "employee": SAME_ROWS},
        "note": {"admin": ALL, "hr": ALL, "manager": SAME_ROWS},
    },
}

AGGREGATES: Mapping[str, Mapping[str, str]] = {
    "Order": {"admin": ALL, "finance": ALL, "analyst": ALL, "sales": OWN_ACCOUNTS},
    "OrderLine": {"admin": ALL, "finance": ALL, "analyst": ALL, "sales": OWN_ACCOUNTS},
    "Invoice": {"admin": ALL, "finance": ALL, "analyst": ALL, "sales": OWN_ACCOUNTS},
    "Payment": {"admin": ALL, "finance": ALL, "analyst": ALL, "sales": OWN_ACCOUNTS},
    "Employee": {"admin": ALL, "hr": ALL, "analyst": ALL, "manager": MY_REPORTS},
}


# Aggregates of a field a role cannot read row by row (an analyst's salary totals)
# are withheld for groups smaller than this, so no single row can be read off a group.
SMALL_GROUP = 5


def _frozen(table: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy of a table, nested tables included (their depth varies, hence ``Any``)."""
    return MappingProxyType(
        {key: _frozen(value) if isinstance(value, Mapping) else value for key, value in table.items()}
    )


ROWS = _frozen(ROWS)
FIELDS = _frozen(FIELDS)
AGGREGATES = _frozen(AGGREGATES)
