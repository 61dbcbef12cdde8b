"""The employee commands: hiring and editing are here; the rest of the lifecycle
(activate, transfer, salary, leave, termination, retirement) is in ``career.py``
and imported here, so that this module is the domain's whole command surface."""

from __future__ import annotations

from app.events.employees import EMPLOYEE_HIRED, EMPLOYEE_UPDATED, EmployeeHiredPayload, EmployeeUpdatedPayload
from app.workflows import EMPLOYEE
from resolvers.employees import details, tree
from resolvers.employees.career import (
    activate_employee,
    change_employee_salary,
    end_leave,
    retire_employee,
    start_leave,
    terminate_employee,
    transfer_employee,
)
from resolvers.employees.inputs import HireEmployee, UpdateEmployee
from resolvers.employees.records import COLUMNS, add_event, record, summary
from resolvers.writes.checks import Checks
from resolvers.writes.lifecycle import acting_roles, check_writable, lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession

__all__ = [
    "activate_employee",
    "change_employee_salary",
    "end_leave",
    "hire_employee",
    "retire_employee",
    "start_leave",
    "terminate_employee",
    "transfer_employee",
    "update_employee",
]

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
        checks.fail(("email",), "DUPLICATE", "another employee has this email")


async def hire_employee(session: WriteSession, command: HireEmployee) -> Outcome:
    require_role(session, EMPLOYEE.creators, "hire employees")
    roles = acting_roles(session, EMPLOYEE.creators)
    checks = Checks()
    now = await details.today(session)
    values = details.person(checks, details.given_details(command), now)
    values["salary"] = checks.money(("salary",), command.salary, required=True)
    values["hired_on"] = command.hired_on
    if values["date_of_birth"] is not None and values["date_of_birth"] < now:  # a future one is refused already
        details.check_age(checks, values["date_of_birth"], command.hired_on)
    # A field left empty sets nothing: only the values given need a role that may set them.
    supplied = {name: value for name, value in values.items() if value is not None}
    check_writable(checks, "Employee", details.sensitive_paths(supplied), roles)
    checks.done()

    # What only the database knows: the references and the email's uniqueness.
    department, manager = command.department_id, command.manager_id
    refs = Checks()
    await tree.check_department(session, refs, department, ("department_id",))
    await tree.check_manager(session, refs, manager, ("manager_id",))
    await _check_email_free(session, refs, values["email"])
    refs.done()

    number = await session.sequence_number("employee_numbers")
    columns = values | {"number": f"E{number:05d}", "org_id": session.org_id}
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
        session,
        row["id"],
        "hired",
        department_id=department,
        manager_id=manager,
        title=row["title"],
        salary=row["salary"],
        occurred_at_sql=_HIRED_AT,
        params={"hired_on": command.hired_on},
    )
    hired: EmployeeHiredPayload = {**summary(row), "hiredOn": row["hired_on"]}
    await record(session, EMPLOYEE_HIRED.announce(hired), None, row)
    return Outcome("Employee", row["id"])


async def update_employee(session: WriteSession, command: UpdateEmployee) -> Outcome:
    step = EMPLOYEE["EDIT"]
    require_role(session, step.roles, "edit employees")
    checks = Checks()
    pk = command.id
    now = await details.today(session)
    values = details.person(checks, details.given_details(command), now)
    if not values:
        checks.fail((), "REQUIRED", "send at least one field to change")
    check_writable(checks, "Employee", details.sensitive_paths(values), acting_roles(session, step.roles))
    checks.done()

    before = await lock_for(session, "Employee", "EDIT", pk, version=command.version)
    refs = Checks()
    if "date_of_birth" in values:
        details.check_age(refs, values["date_of_birth"], before["hired_on"])
    if "email" in values:
        await _check_email_free(session, refs, values["email"], pk)
    refs.done()

    after = await session.update("employees", pk, values)
    if after["title"] != before["title"]:
        # A new title is a step of the career; contact and personal details are not
        # (the audit row alone records them).
        await add_event(session, pk, "promoted", title=after["title"])
    # The event names the fields that changed, never their values (some are personal).
    updated: EmployeeUpdatedPayload = {
        **summary(after),
        "fields": sorted(name for name, column in COLUMNS.items() if before[column] != after[column]),
    }
    await record(session, EMPLOYEE_UPDATED.announce(updated), before, after)
    return Outcome("Employee", pk)
