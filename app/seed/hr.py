"""Departments, employees and their employment events for one organization.

Heads are created before the people who report to them, so every manager has a
smaller id than their reports and the management tree cannot have a cycle."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.seed.careers import Career, Placement, history
from app.seed.common import ANCHOR, ANCHOR_DAY, YEAR_DAYS, Dataset, cents, fill_pattern, quota
from app.seed.names import UniqueEmails, person
from app.seed.org_chart import LEAD_LEVEL, Dept, departments_for, ladder, positions
from app.seed.orgs import OrgSpec
from app.seed.places import COUNTRIES

# (occurred_at, employee_id, kind, department_id, manager_id, title, salary, note): careers' events with the employee.
StaffEvent = tuple[datetime, int, str, int | None, int | None, str | None, float | None, str | None]

DEPARTMENT_COLUMNS = ("id", "org_id", "code", "name", "parent_id", "head_id", "created_at")
EMPLOYEE_COLUMNS = (
    "id",
    "org_id",
    "number",
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "department_id",
    "manager_id",
    "status",
    "hired_on",
    "ended_on",
    "salary",
    "date_of_birth",
    "national_id",
    "version",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS = (
    "id",
    "org_id",
    "employee_id",
    "kind",
    "occurred_at",
    "department_id",
    "manager_id",
    "title",
    "salary",
    "note",
)

MEMBER_STATUSES = {"active": 0.76, "onboarding": 0.04, "on_leave": 0.04, "terminated": 0.12, "retired": 0.04}
LEVEL_WEIGHTS = (0.25, 0.40, 0.25, 0.10)
TRANSFERRED = 0.15  # share of staff who joined in another department


@dataclass
class Staff:
    """What later generators need from HR: who can own customer accounts."""

    account_managers: list[int]


def _hired(rng: random.Random, role: str, dept: Dept, status: str) -> date:
    if role == "head":
        days = 11 * YEAR_DAYS if dept.code == "EXEC" else rng.randint(2 * YEAR_DAYS, 10 * YEAR_DAYS)
    elif role == "lead":
        days = rng.randint(YEAR_DAYS, 8 * YEAR_DAYS)
    elif status == "onboarding":
        days = rng.randint(1, 40)
    else:  # up to nine years, more of them recent
        days = 120 + int((9 * YEAR_DAYS - 120) * rng.random() ** 1.6)
    return ANCHOR_DAY - timedelta(days=days)


def generate_hr(data: Dataset, org: OrgSpec, org_id: int, headcount: int, rng: random.Random) -> Staff:
    depts = departments_for(headcount)
    dept_ids = {d.code: data.reserve("departments", 1) for d in depts}
    plan = positions(depts, headcount)
    statuses = iter(quota(rng, sum(1 for role, _ in plan if role == "member"), MEMBER_STATUSES))
    first_id = data.reserve("employees", len(plan))
    heads: dict[str, int] = {}
    leads_of: dict[str, list[int]] = {}
    emails = UniqueEmails(f"{org.slug}.example")
    national_ids: set[str] = set()
    home = COUNTRIES["US" if org.people == "en" else "DE"]
    staff = Staff(account_managers=[])
    events: list[StaffEvent] = []
    for i, (role, dept) in enumerate(plan):
        emp_id = first_id + i
        if role == "head":
            heads[dept.code] = emp_id
            manager = heads[dept.parent] if dept.parent else None
        elif role == "member" and leads_of.get(dept.code):
            manager = rng.choice(leads_of[dept.code])
        else:
            manager = heads[dept.code]
        if role == "lead":
            leads_of.setdefault(dept.code, []).append(emp_id)
        status = next(statuses) if role == "member" else "active"
        titles, pay = ladder(role, dept)
        if role == "member":
            level = rng.choices(range(len(LEVEL_WEIGHTS)), LEVEL_WEIGHTS)[0]
        else:
            level = LEAD_LEVEL if role == "lead" else 0
        hired = _hired(rng, role, dept, status)
        ended = None
        if status in ("terminated", "retired"):
            ended = hired + timedelta(days=rng.randint(90, (ANCHOR_DAY - hired).days - 1))
        earlier = None
        if role == "member" and status != "onboarding" and rng.random() < TRANSFERRED:
            other = rng.choice([d for d in depts if d.code not in (dept.code, "EXEC")])
            earlier = Placement(dept_ids[other.code], heads[other.code], other.name)
        career = Career(
            status,
            hired,
            ended,
            titles,
            level,
            tuple(p * org.salary_factor for p in pay),
            Placement(dept_ids[dept.code], manager, dept.name),
            earlier,
            org.work_hour_utc,
        )
        steps, salary = history(rng, career)
        events += [(step[0], emp_id, *step[1:]) for step in steps]
        first, last = person(rng, org.people)
        created = datetime.combine(hired - timedelta(days=rng.randint(7, 30)), time(org.work_hour_utc + 1), tzinfo=UTC)
        data.rows["employees"].append(
            (
                emp_id,
                org_id,
                f"E{i + 1:05d}",
                first,
                last,
                emails.make(first, last),
                f"{home.calling} {fill_pattern(rng, home.phone)}",
                titles[level],
                dept_ids[dept.code],
                manager,
                status,
                hired,
                ended,
                cents(salary * 100),
                _birthday(rng, hired, ended if status == "retired" else None),
                _national_id(rng, org.people, national_ids),
                len(steps),
                created,
                steps[-1][0],
            )
        )
        if dept.family == "sales" and role != "head" and status in ("active", "on_leave"):
            staff.account_managers.append(emp_id)
    if not staff.account_managers:  # a very small org: the sales heads own the accounts
        staff.account_managers = [heads[d.code] for d in depts if d.family == "sales"]
    created = ANCHOR - timedelta(days=11 * YEAR_DAYS + 30)
    data.rows["departments"].extend(
        (dept_ids[d.code], org_id, d.code, d.name, dept_ids[d.parent] if d.parent else None, heads[d.code], created)
        for d in depts
    )
    _add_events(data, org_id, events)
    return staff


def _birthday(rng: random.Random, hired: date, retired_on: date | None) -> date:
    if retired_on is not None:  # retired at 60 to 67
        return retired_on - timedelta(days=rng.randint(60 * YEAR_DAYS + 15, 67 * YEAR_DAYS))
    return hired - timedelta(days=rng.randint(21 * YEAR_DAYS, 52 * YEAR_DAYS))


def _national_id(rng: random.Random, people: str, taken: set[str]) -> str:
    """A US social security number for Acme (never 000, 666 or 9xx), an eleven-digit
    German tax identification number for Globex; unique within the organization."""
    while True:
        if people == "en":
            value = fill_pattern(rng, "###-##-####")
            if value.startswith(("000", "666", "9")):
                continue
        else:
            value = str(rng.randint(1, 9)) + fill_pattern(rng, "##########")
        if value not in taken:
            taken.add(value)
            return value


def _add_events(data: Dataset, org_id: int, events: list[StaffEvent]) -> None:
    events.sort(key=lambda e: (e[0], e[1]))  # ids follow time, like a real append-only history
    first = data.reserve("employment_events", len(events))
    data.rows["employment_events"].extend(
        (
            first + i,
            org_id,
            emp,
            kind,
            when,
            dept,
            manager,
            title,
            None if salary is None else cents(int(salary) * 100),
            note,
        )
        for i, (when, emp, kind, dept, manager, title, salary, note) in enumerate(events)
    )
