"""The employment after the hire: the first day, moves, pay, leave, and its end.

Each command locks the employee's row through the machine (``app/workflows.py``
EMPLOYEE: roles, source states, guards), changes it, writes the employment event
that ``Employee.history`` shows, and records the audit row and outbox event.
"""

from __future__ import annotations

from typing import Any

from app.errors import CommandError
from app.workflows import EMPLOYEE, Transition
from resolvers.writes.checks import Checks
from resolvers.writes.lifecycle import acting_roles, check_writable, lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession
from resolvers.employees import details, tree
from resolvers.employees.records import add_event, record
from resolvers.planner.ids import encode_id

# Lifecycle actions → the employment event each writes (ACTIVATE writes none:
# the history starts with the hire, and the first day is hiredOn).
_STATUS_EVENTS = {"ACTIVATE": None, "START_LEAVE": "leave_started", "END_LEAVE": "leave_ended"}
_END_EVENTS = {"TERMINATE": "terminated", "RETIRE": "retired"}


def _start(session: WriteSession, action: str, data: dict[str, Any]) -> tuple[Transition, Checks, int | None]:
    """The transition, a fresh ``Checks`` and the employee's key. The roles come
    first: a role that may not act learns nothing from input checks."""
    step = EMPLOYEE[action]
    require_role(session, step.roles, f"{action.lower().replace('_', ' ')} employees")
    checks = Checks()
    return step, checks, checks.global_id(("input", "id"), data.get("id"), "Employee")


async def change_status(session: WriteSession, action: str, data: dict[str, Any]) -> Outcome:
    """ACTIVATE, START_LEAVE or END_LEAVE."""
    step, checks, pk = _start(session, action, data)
    note = details.note(checks, data)
    checks.done()
    before = await lock_for(session, "Employee", action, pk, version=data.get("version"))
    after = await session.update("employees", pk, {"status": step.targets[0]})
    kind = _STATUS_EVENTS[action]
    if kind is not None:
        await add_event(session, pk, kind, note=note)
    await record(session, step.event, before, after, payload={"from": before["status"]})
    return Outcome("Employee", pk)


async def transfer(session: WriteSession, data: dict[str, Any]) -> Outcome:
    """A new department, a new manager, or both; a field left out stays, null clears it."""
    step, checks, pk = _start(session, "TRANSFER", data)
    moves_department, moves_manager = "departmentId" in data, "managerId" in data
    department_path, manager_path = ("input", "departmentId"), ("input", "managerId")
    department = checks.global_id(department_path, data.get("departmentId"), "Department", required=False)
    manager = checks.global_id(manager_path, data.get("managerId"), "Employee", required=False)
    note = details.note(checks, data)
    if not (moves_department or moves_manager):
        checks.fail(("input",), "REQUIRED", "give departmentId, managerId or both")
    checks.done()

    if manager is not None:
        await tree.serialize_tree_changes(session)  # before the row lock: see its docstring
    before = await lock_for(session, "Employee", "TRANSFER", pk, version=data.get("version"))
    refs = Checks()
    if moves_department:
        await tree.check_department(session, refs, department, department_path)
    if moves_manager:
        await tree.check_manager(session, refs, manager, manager_path)
    refs.done()
    if manager is not None:
        await tree.check_no_cycle(session, pk, manager, manager_path)

    columns = {}
    if moves_department:
        columns["department_id"] = department
    if moves_manager:
        columns["manager_id"] = manager
    if all(before[column] == value for column, value in columns.items()):
        raise CommandError("INVALID", "the employee already works there, for that manager", field=["input"])
    after = await session.update("employees", pk, columns)
    await add_event(
        session, pk, "transferred", department_id=after["department_id"], manager_id=after["manager_id"], note=note
    )
    await record(session, step.event, before, after)
    return Outcome("Employee", pk)


async def change_salary(session: WriteSession, data: dict[str, Any]) -> Outcome:
    step, checks, pk = _start(session, "CHANGE_SALARY", data)
    salary = checks.money(("input", "salary"), data.get("salary"), required=True)
    note = details.note(checks, data)
    check_writable(checks, "Employee", {"salary": ("input", "salary")}, acting_roles(session, step.roles))
    checks.done()
    before = await lock_for(session, "Employee", "CHANGE_SALARY", pk, version=data.get("version"))
    if before["salary"] == salary:
        raise CommandError("INVALID", "the salary already is this amount", field=["input", "salary"])
    after = await session.update("employees", pk, {"salary": salary})
    await add_event(session, pk, "salary_changed", salary=salary, note=note)
    await record(session, step.event, before, after)  # the audit row keeps before/after; the event does not
    return Outcome("Employee", pk)


async def end_employment(session: WriteSession, action: str, data: dict[str, Any]) -> Outcome:
    """TERMINATE or RETIRE: refused while employed people report to the employee;
    the departments they head are left without a head."""
    step, checks, pk = _start(session, action, data)
    note = details.note(checks, data)
    checks.done()
    before = await lock_for(session, "Employee", action, pk, version=data.get("version"))
    await tree.check_no_reports(session, pk)
    ended_on = data.get("endedOn") or await details.today(session)
    if ended_on < before["hired_on"]:
        raise CommandError(
            "INVALID", f"endedOn must not be before hiredOn ({before['hired_on'].isoformat()})",
            field=["input", "endedOn"],
        )
    headed = await tree.clear_department_head(session, pk)
    after = await session.update("employees", pk, {"status": step.targets[0], "ended_on": ended_on})
    await add_event(session, pk, _END_EVENTS[action], note=note)
    extra = {"headOfDepartmentIds": {"before": headed, "after": []}} if headed else {}
    await record(
        session, step.event, before, after, extra_changes=extra,
        payload={
            "from": before["status"], "endedOn": ended_on,
            "departmentsLeftWithoutHead": [encode_id("Department", d) for d in headed],
        },
    )
    return Outcome("Employee", pk)
