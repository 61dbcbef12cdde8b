"""The demo sign-ins: one user per role in every organization, linked to people who
make each role's view of the data interesting.

- ``sales@`` is the account manager with the most customers who buy;
- ``customer@`` is the customer of those accounts with the most invoices;
- ``manager@`` manages people who manage people (the smallest such team, so it
  is a middle manager rather than the chief executive whenever there is one);
- ``employee@`` is someone with no reports, inside the manager's team if possible.

Everyone signs in with ``DEMO_PASSWORD``. The hash is made once per seed run,
with a salt derived from the seed, so that the same seed still gives the same rows.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime

from app.auth.passwords import hash_secret_with_salt
from app.seed.common import Dataset
from app.seed.orgs import OrgSpec

DEMO_PASSWORD = "bizgraph-demo"
DEMO_ROLES = ("admin", "finance", "hr", "analyst", "sales", "manager", "employee", "customer")
USER_COLUMNS = ("id", "org_id", "email", "password_hash", "roles", "employee_id", "customer_id", "created_at")

# Positions of the columns read back from rows already generated.
EMPLOYEE_MANAGER, EMPLOYEE_STATUS = 9, 10
CUSTOMER_MANAGER = 15


def demo_email(role: str, slug: str) -> str:
    return f"{role}@{slug}.example"


def demo_password_hash(seed: int) -> str:
    salt = hashlib.sha256(f"bizgraph-demo-password:{seed}".encode()).digest()[:16]
    return hash_secret_with_salt(DEMO_PASSWORD, salt)


def add_demo_users(
    data: Dataset,
    org: OrgSpec,
    org_id: int,
    password_hash: str,
    created: datetime,
    ordered: set[int],
    invoiced: Counter[int],
) -> None:
    """Append the organization's demo users; call after its people and customers are in
    ``data``. ``ordered``: the customers with an order; ``invoiced``: invoices per customer
    (orders and invoices themselves may be written out already)."""
    employees = [row for row in data.rows["employees"] if row[1] == org_id]
    active = {row[0] for row in employees if row[EMPLOYEE_STATUS] == "active"}
    reports: dict[int, list[int]] = {}
    for row in employees:
        if row[EMPLOYEE_MANAGER] is not None:
            reports.setdefault(row[EMPLOYEE_MANAGER], []).append(row[0])

    sales = _busiest_account_manager(data, org_id, active, ordered)
    manager = _middle_manager(reports, active)
    links: dict[str, tuple[int | None, int | None]] = {
        "sales": (sales, None),
        "manager": (manager, None),
        "employee": (_individual_contributor(reports, active, manager), None),
        "customer": (None, _best_customer(data, org_id, sales, invoiced)),
    }
    first_id = data.reserve("users", len(DEMO_ROLES))
    for i, role in enumerate(DEMO_ROLES):
        employee_id, customer_id = links.get(role, (None, None))
        data.rows["users"].append(
            (first_id + i, org_id, demo_email(role, org.slug), password_hash, [role], employee_id, customer_id, created)
        )


def _busiest_account_manager(data: Dataset, org_id: int, active: set[int], buyers: set[int]) -> int:
    accounts: Counter[int] = Counter(
        row[CUSTOMER_MANAGER]
        for row in data.rows["customers"]
        if row[1] == org_id and row[0] in buyers and row[CUSTOMER_MANAGER] in active
    )
    # Most accounts first, then the smallest id: deterministic on ties.
    return min(accounts, key=lambda employee: (-accounts[employee], employee))


def _best_customer(data: Dataset, org_id: int, account_manager: int, invoices: Counter[int]) -> int:
    managed = {
        row[0] for row in data.rows["customers"] if row[1] == org_id and row[CUSTOMER_MANAGER] == account_manager
    }
    pool = [c for c in invoices if c in managed] or list(invoices)
    return min(pool, key=lambda customer: (-invoices[customer], customer))


def _team(reports: dict[int, list[int]], head: int) -> list[tuple[int, int]]:
    """(employee, depth below ``head``) for everyone under ``head``."""
    found, frontier, depth = [], [head], 0
    while frontier:
        depth += 1
        frontier = [member for boss in frontier for member in reports.get(boss, ())]
        found += [(member, depth) for member in frontier]
    return found


def _middle_manager(reports: dict[int, list[int]], active: set[int]) -> int:
    candidates = []
    for boss in sorted(reports):
        team = _team(reports, boss)
        if boss in active and max(depth for _, depth in team) >= 2:
            candidates.append((len(team), boss))
    return min(candidates)[1]


def _individual_contributor(reports: dict[int, list[int]], active: set[int], manager: int) -> int:
    leaves = [member for member, depth in _team(reports, manager) if depth >= 2 and member not in reports]
    pool = [member for member in leaves if member in active]
    if not pool:
        managed = {member for team in reports.values() for member in team}
        pool = [member for member in managed if member in active and member not in reports]
    return min(pool)
