"""Employee commands: hiring and editing. The rest of the lifecycle (activate,
transfer, salary, leave, termination, retirement) is in ``career.py``."""

from __future__ import annotations

from typing import Any

from app.workflows import EMPLOYEE
from resolvers.writes.checks import Checks
from resolvers.writes.lifecycle import acting_roles, check_writable, lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession
from resolvers.employees import details, tree
from resolvers.employees.records import COLUMNS, add_event, record


# The first day as the hire's time, but never later than now: a backdated hire
# shows in the history on the day it took effect (as hiredOn and the seeded
# histories say), while a future hire is recorded now, so that what happens
# during onboarding (a transfer, a new salary) still sorts after it.
_HIRED_AT = "LEAST(%(hired_on)s::date::timestamptz, clock_timestamp())"


async def _check_email_free(session: WriteSession, checks: Checks, email: str | None, pk: int | None = None) -> None:
    """Emails are unique per organization, whatever their case (the unique
    constraint, exact, still catches a concurrent hire with the same email)."""
    if not email:
        return
    taken = await session.value(
        "SELECT 1 FROM employees WHERE org_id = %(org)s AND lower(email) = lower(%(email)s)"
        " AND id IS DISTINCT FROM %(pk)s",
        {"email": email, "pk": pk},
    )
    if taken:
        checks.fail(("input", "email"), "DUPLICATE", "another employee has this email")


async def hire(session: WriteSession, data: dict[str, Any]) -> Outcome:
    require_role(session, EMPLOYEE.creators, "hire employees")
    roles = acting_roles(session, EMPLOYEE.creators)
    checks = Checks()
    now = await details.today(session)
    values = details.person(checks, data, now, creating=True)
    values["salary"] = checks.money(("input", "salary"), data.get("salary"), required=True)
    values["hiredOn"] = hired_on = data.get("hiredOn")
    if hired_on is None:
        checks.fail(("input", "hiredOn"), "REQUIRED", "hiredOn is required")
    elif values.get("dateOfBirth") is not None and values["dateOfBirth"] < now:  # a future one is refused already
        details.check_age(checks, values["dateOfBirth"], hired_on)
    department = checks.global_id(("input", "departmentId"), data.get("departmentId"), "Department", required=False)
    manager = checks.global_id(("input", "managerId"), data.get("managerId"), "Employee", required=False)
    check_writable(checks, "Employee", details.sensitive_paths(values), roles)
    checks.done()

    # What only the database knows: the references and the email's uniqueness.
    refs = Checks()
    await tree.check_department(session, refs, department, ("input", "departmentId"))
    await tree.check_manager(session, refs, manager, ("input", "managerId"))
    await _check_email_free(session, refs, values["email"])
    refs.done()

    number = await session.sequence_number("employee_numbers")
    columns = {COLUMNS[name]: value for name, value in values.items()}
    columns |= {"number": f"E{number:05d}", "org_id": session.org_id}
    columns |= {"department_id": department, "manager_id": manager}
    names = ", ".join([*columns, "status"])
    placeholders = ", ".join(f"%({c})s" for c in columns)
    row = await session.row(
        f"INSERT INTO employees ({names}) VALUES ({placeholders},"
        " CASE WHEN %(hired_on)s::date > CURRENT_DATE THEN 'onboarding' ELSE 'active' END) RETURNING *",
        columns,
    )
    assert row is not None
    await add_event(
        session, row["id"], "hired", department_id=department, manager_id=manager, title=row["title"],
        salary=row["salary"], occurred_at_sql=_HIRED_AT, params={"hired_on": hired_on},
    )
    await record(session, "employee.hired", None, row, payload={"hiredOn": row["hired_on"]})
    return Outcome("Employee", row["id"])


async def update(session: WriteSession, data: dict[str, Any]) -> Outcome:
    step = EMPLOYEE["EDIT"]
    require_role(session, step.roles, "edit employees")
    checks = Checks()
    pk = checks.global_id(("input", "id"), data.get("id"), "Employee")
    now = await details.today(session)
    values = details.person(checks, data, now, creating=False)
    if not values:
        checks.fail(("input",), "REQUIRED", "send at least one field to change")
    check_writable(checks, "Employee", details.sensitive_paths(values), acting_roles(session, step.roles))
    checks.done()

    before = await lock_for(session, "Employee", "EDIT", pk, version=data.get("version"))
    refs = Checks()
    if "dateOfBirth" in values:
        details.check_age(refs, values["dateOfBirth"], before["hired_on"])
    if "email" in values:
        await _check_email_free(session, refs, values["email"], pk)
    refs.done()

    after = await session.update("employees", pk, {COLUMNS[name]: value for name, value in values.items()})
    if after["title"] != before["title"]:
        # A new title is a step of the career; contact and personal details are not
        # (the audit row alone records them).
        await add_event(session, pk, "promoted", title=after["title"])
    # The event names the fields that changed, never their values (some are personal).
    fields = sorted(name for name, column in COLUMNS.items() if before[column] != after[column])
    await record(session, step.event, before, after, payload={"fields": fields})
    return Outcome("Employee", pk)
