"""Departments, employees and their employment events for one organization.

Heads are created before the people who report to them, so every manager has a
smaller id than their reports and the management tree cannot have a cycle."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from app.seed.careers import Career, Placement, history
from app.seed.common import ANCHOR, ANCHOR_DAY, YEAR_DAYS, Dataset, cents, fill_pattern, quota
from app.seed.names import UniqueEmails, person
from app.seed.orgs import OrgSpec
from app.seed.places import COUNTRIES

DEPARTMENT_COLUMNS = ("id", "org_id", "code", "name", "parent_id", "head_id", "created_at")
EMPLOYEE_COLUMNS = ("id", "org_id", "number", "first_name", "last_name", "email", "phone", "title",
                    "department_id", "manager_id", "status", "hired_on", "ended_on", "salary",
                    "date_of_birth", "national_id", "version", "created_at", "updated_at")
EVENT_COLUMNS = ("id", "org_id", "employee_id", "kind", "occurred_at", "department_id", "manager_id",
                 "title", "salary", "note")

# (code, name, parent code, share of the staff, smallest headcount that has it, job family)
DEPARTMENTS = (
    ("EXEC", "Executive Office", None, 0.02, 0, "exec"),
    ("SALES", "Sales", "EXEC", 0.12, 0, "sales"),
    ("SALES-NA", "Sales North America", "SALES", 0.12, 40, "sales"),
    ("SALES-INT", "International Sales", "SALES", 0.08, 150, "sales"),
    ("ENG", "Engineering", "EXEC", 0.08, 0, "eng"),
    ("ENG-PLAT", "Platform Engineering", "ENG", 0.12, 40, "eng"),
    ("ENG-PROD", "Product Engineering", "ENG", 0.10, 150, "eng"),
    ("FIN", "Finance", "EXEC", 0.05, 0, "fin"),
    ("FIN-AR", "Accounts Receivable", "FIN", 0.04, 150, "fin"),
    ("HR", "People & Culture", "EXEC", 0.05, 0, "hr"),
    ("OPS", "Operations", "EXEC", 0.05, 0, "ops"),
    ("OPS-WH", "Warehouse & Logistics", "OPS", 0.09, 40, "ops"),
    ("OPS-CS", "Customer Support", "OPS", 0.08, 40, "support"),
    ("MKT", "Marketing", "EXEC", 0.05, 0, "mkt"),
)
# Four individual levels, then the team lead.
LADDERS = {
    "exec": ("Executive Assistant", "Senior Executive Assistant", "Chief of Staff", "Chief of Staff", "Chief of Staff"),
    "sales": ("Sales Development Representative", "Account Executive", "Senior Account Executive",
              "Principal Account Executive", "Sales Manager"),
    "eng": ("Junior Software Engineer", "Software Engineer", "Senior Software Engineer", "Staff Engineer",
            "Engineering Manager"),
    "fin": ("Accounting Clerk", "Accountant", "Senior Accountant", "Finance Specialist", "Finance Team Lead"),
    "hr": ("HR Assistant", "HR Generalist", "HR Business Partner", "Senior HR Business Partner", "HR Manager"),
    "ops": ("Warehouse Associate", "Logistics Coordinator", "Senior Logistics Coordinator",
            "Operations Specialist", "Operations Supervisor"),
    "support": ("Support Agent", "Support Specialist", "Senior Support Specialist", "Support Engineer",
                "Support Team Lead"),
    "mkt": ("Marketing Assistant", "Marketing Specialist", "Senior Marketing Specialist",
            "Principal Marketing Manager", "Marketing Lead"),
}
LADDER_PAY = (42_000, 62_000, 85_000, 115_000, 125_000)  # USD; other currencies scale it
FAMILY_PAY = {"exec": 1.1, "sales": 1.0, "eng": 1.3, "fin": 1.1, "hr": 0.95, "ops": 0.8, "support": 0.75, "mkt": 1.0}
C_LEVEL = {"EXEC": ("Chief Executive Officer", 380_000), "FIN": ("Chief Financial Officer", 260_000),
           "ENG": ("Chief Technology Officer", 270_000)}
MEMBER_STATUSES = {"active": 0.76, "onboarding": 0.04, "on_leave": 0.04, "terminated": 0.12, "retired": 0.04}
LEVEL_WEIGHTS = (0.25, 0.40, 0.25, 0.10)
STAFF_PER_LEAD = 9


@dataclass
class Staff:
    """What later generators need from HR: who can own customer accounts."""

    account_managers: list[int]


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` by weight, largest remainders first (no randomness: the shape of the org is fixed)."""
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(weights[i] * scale - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def generate_hr(data: Dataset, org: OrgSpec, org_id: int, headcount: int, rng: random.Random) -> Staff:
    depts = [d for d in DEPARTMENTS if headcount >= d[4]]
    dept_ids = {d[0]: data.reserve("departments", 1) for d in depts}
    per_dept = _allocate(max(0, headcount - len(depts)), [d[3] for d in depts])
    # Creation order: every head (parents first), then each department's leads and staff.
    plan: list[tuple[str, tuple]] = [("head", d) for d in depts]
    for d, count in zip(depts, per_dept):
        leads = count // STAFF_PER_LEAD if count >= 12 and d[5] != "exec" else 0
        plan += [("lead", d)] * leads + [("member", d)] * (count - leads)
    statuses = iter(quota(rng, sum(1 for role, _ in plan if role == "member"), MEMBER_STATUSES))
    first_id = data.reserve("employees", len(plan))
    heads: dict[str, int] = {}
    leads_of: dict[str, list[int]] = {}
    emails = UniqueEmails(f"{org.slug}.example")
    national_ids: set[str] = set()
    home = COUNTRIES["US" if org.people == "en" else "DE"]
    staff = Staff(account_managers=[])
    events: list[tuple] = []
    for i, (role, d) in enumerate(plan):
        emp_id = first_id + i
        code, name, parent, _, _, family = d
        if role == "head":
            heads[code] = emp_id
            manager = heads.get(parent) if parent else None
            title, pay = C_LEVEL.get(code) or (f"VP, {name}" if parent == "EXEC" else f"Director, {name}",
                                               190_000 if parent == "EXEC" else 150_000)
            ladder, level, pays, status = (title,), 0, (pay,), "active"
            hired = ANCHOR_DAY - timedelta(days=11 * YEAR_DAYS if code == "EXEC" else rng.randint(2 * YEAR_DAYS, 10 * YEAR_DAYS))
        else:
            manager = heads[code]
            if role == "member" and leads_of.get(code):
                manager = rng.choice(leads_of[code])
            ladder = LADDERS[family]
            pays = tuple(p * FAMILY_PAY[family] for p in LADDER_PAY)
            status = "active" if role == "lead" else next(statuses)
            level = 4 if role == "lead" else rng.choices(range(4), LEVEL_WEIGHTS)[0]
            if role == "lead":
                leads_of.setdefault(code, []).append(emp_id)
                hired = ANCHOR_DAY - timedelta(days=rng.randint(YEAR_DAYS, 8 * YEAR_DAYS))
            elif status == "onboarding":
                hired = ANCHOR_DAY - timedelta(days=rng.randint(1, 40))
            else:
                hired = ANCHOR_DAY - timedelta(days=120 + int((9 * YEAR_DAYS - 120) * rng.random() ** 1.6))
        ended = hired + timedelta(days=rng.randint(90, (ANCHOR_DAY - hired).days - 1)) if status in (
            "terminated", "retired") else None
        placement = Placement(dept_ids[code], manager, name)
        earlier = None
        if role == "member" and status != "onboarding" and rng.random() < 0.15:
            other = rng.choice([x for x in depts if x[0] not in (code, "EXEC")])
            earlier = Placement(dept_ids[other[0]], heads.get(other[0]), other[1])
        career = Career(status, hired, ended, ladder, level, tuple(p * org.salary_factor for p in pays),
                        placement, earlier, org.work_hour_utc)
        history_events, salary = history(rng, career)
        events += [(e[0], emp_id, *e[1:]) for e in history_events]
        first, last = person(rng, org.people)
        born = _birthday(rng, hired, ended if status == "retired" else None)
        national_id = _national_id(rng, org.people, national_ids)
        created = datetime.combine(hired - timedelta(days=rng.randint(7, 30)), time(org.work_hour_utc + 1),
                                   tzinfo=timezone.utc)
        data.rows["employees"].append((
            emp_id, org_id, f"E{i + 1:05d}", first, last, emails.make(first, last),
            f"{home.calling} {fill_pattern(rng, home.phone)}", ladder[level], placement.department_id, manager,
            status, hired, ended, cents(salary * 100), born, national_id, len(history_events), created,
            history_events[-1][0],
        ))
        if family == "sales" and role != "head" and status in ("active", "on_leave"):
            staff.account_managers.append(emp_id)
    if not staff.account_managers:  # a very small org: the sales heads own the accounts
        staff.account_managers = [heads[d[0]] for d in depts if d[5] == "sales"]
    _add_departments(data, org_id, depts, dept_ids, heads)
    _add_events(data, org_id, events)
    return staff


def _birthday(rng: random.Random, hired: date, retired_on: date | None) -> date:
    if retired_on is not None:  # retired at 60 to 67
        return retired_on - timedelta(days=rng.randint(60 * YEAR_DAYS + 15, 67 * YEAR_DAYS))
    return hired - timedelta(days=rng.randint(21 * YEAR_DAYS, 52 * YEAR_DAYS))


def _national_id(rng: random.Random, people: str, taken: set[str]) -> str:
    # US social security numbers for Acme (never 000, 666 or 9xx), German tax
    # identification numbers (eleven digits, no leading zero) for Globex.
    pattern = "###-##-####" if people == "en" else "##########"
    while True:
        value = fill_pattern(rng, pattern)
        if people != "en":
            value = str(rng.randint(1, 9)) + value
        elif value.startswith(("000", "666", "9")):
            continue
        if value not in taken:
            taken.add(value)
            return value


def _add_departments(data: Dataset, org_id: int, depts: list, dept_ids: dict, heads: dict) -> None:
    created = ANCHOR - timedelta(days=11 * YEAR_DAYS + 30)
    for code, name, parent, *_ in depts:
        data.rows["departments"].append(
            (dept_ids[code], org_id, code, name, dept_ids.get(parent) if parent else None, heads[code], created))


def _add_events(data: Dataset, org_id: int, events: list[tuple]) -> None:
    events.sort(key=lambda e: (e[0], e[1]))  # ids follow time, like a real append-only history
    first = data.reserve("employment_events", len(events))
    data.rows["employment_events"].extend(
        (first + i, org_id, emp, kind, when, dept, mgr, title, cents(int(salary) * 100) if salary is not None else None, note)
        for i, (when, emp, kind, dept, mgr, title, salary, note) in enumerate(events))
