"""The employment after the hire: the first day, moves, pay, leave, and its end.

Each command locks the employee's row through the machine (``app/workflows.py``
EMPLOYEE: roles, source states, guards), changes it, writes the employment event
that ``Employee.history`` shows, and records the audit row and outbox event.
"""

from __future__ import annotations

from app.errors import CommandError
from app.events.catalog import EventType
from app.events.employees import (
    EMPLOYEE_ACTIVATED,
    EMPLOYEE_LEAVE_ENDED,
    EMPLOYEE_LEAVE_STARTED,
    EMPLOYEE_RETIRED,
    EMPLOYEE_SALARY_CHANGED,
    EMPLOYEE_TERMINATED,
    EMPLOYEE_TRANSFERRED,
    EmployeeStatusChangedPayload,
    EmploymentEndedPayload,
)
from app.workflows import EMPLOYEE, Transition
from resolvers.employees import details, tree
from resolvers.employees.inputs import (
    ActivateEmployee,
    ChangeEmployeeSalary,
    EndEmployment,
    EndLeave,
    StartLeave,
    TransferEmployee,
)
from resolvers.employees.records import add_event, record, summary
from resolvers.planner.ids import encode_id
from resolvers.writes.checks import Checks, Path, label, path_of
from resolvers.writes.inputs import UNCHANGED
from resolvers.writes.lifecycle import acting_roles, check_writable, lock_for, require_role
from resolvers.writes.runner import Outcome
from resolvers.writes.session import WriteSession

_ENDED_ON: Path = ("ended_on",)


def _start(session: WriteSession, action: str) -> Transition:
    """The transition, once the roles may take it: a role that may not act
    learns nothing from input checks."""
    step = EMPLOYEE[action]
    require_role(session, step.roles, f"{action.lower().replace('_', ' ')} employees")
    return step


async def activate_employee(session: WriteSession, command: ActivateEmployee) -> Outcome:
    """The first working day. No employment event: the history starts with the
    hire, and its first day is hiredOn."""
    return await _change_status(session, "ACTIVATE", command.id, command.version, event=EMPLOYEE_ACTIVATED)


async def start_leave(session: WriteSession, command: StartLeave) -> Outcome:
    return await _change_status(
        session,
        "START_LEAVE",
        command.id,
        command.version,
        history_kind="leave_started",
        note=command.note,
        event=EMPLOYEE_LEAVE_STARTED,
    )


async def end_leave(session: WriteSession, command: EndLeave) -> Outcome:
    return await _change_status(
        session, "END_LEAVE", command.id, command.version, history_kind="leave_ended", event=EMPLOYEE_LEAVE_ENDED
    )


async def _change_status(
    session: WriteSession,
    action: str,
    pk: int,
    version: int | None,
    *,
    history_kind: str | None = None,
    note: str | None = None,
    event: EventType[EmployeeStatusChangedPayload],
) -> Outcome:
    """ACTIVATE, START_LEAVE or END_LEAVE: the new status, the employment event
    ``history_kind`` (if any) and the outbox ``event``."""
    step = _start(session, action)
    checks = Checks()
    checked_note = details.note(checks, note)
    checks.done()
    before = await lock_for(session, "Employee", action, pk, version=version)
    after = await session.update("employees", pk, {"status": step.targets[0]})
    if history_kind is not None:
        await add_event(session, pk, history_kind, note=checked_note)
    changed: EmployeeStatusChangedPayload = {**summary(after), "from": before["status"]}
    await record(session, event.announce(changed), before, after)
    return Outcome("Employee", pk)


async def transfer_employee(session: WriteSession, command: TransferEmployee) -> Outcome:
    """A new department, a new manager, or both; one left UNCHANGED stays, None clears it."""
    _start(session, "TRANSFER")
    pk, department, manager = command.id, command.department_id, command.manager_id
    checks = Checks()
    note = details.note(checks, command.note)
    if department is UNCHANGED and manager is UNCHANGED:
        checks.fail((), "REQUIRED", "give a department, a manager or both")
    checks.done()

    if manager is not UNCHANGED and manager is not None:
        await tree.serialize_tree_changes(session)  # before the row lock: see its docstring
    before = await lock_for(session, "Employee", "TRANSFER", pk, version=command.version)
    columns: dict[str, int | None] = {}
    refs = Checks()
    if department is not UNCHANGED:
        await tree.check_department(session, refs, department, ("department_id",))
        columns["department_id"] = department
    if manager is not UNCHANGED:
        await tree.check_manager(session, refs, manager, ("manager_id",))
        columns["manager_id"] = manager
    refs.done()
    if manager is not UNCHANGED and manager is not None:
        await tree.check_no_cycle(session, pk, manager, ("manager_id",))

    if all(before[column] == value for column, value in columns.items()):
        raise CommandError("INVALID", "the employee already works there, for that manager", field=[])
    after = await session.update("employees", pk, columns)
    await add_event(
        session, pk, "transferred", department_id=after["department_id"], manager_id=after["manager_id"], note=note
    )
    await record(session, EMPLOYEE_TRANSFERRED.announce(summary(after)), before, after)
    return Outcome("Employee", pk)


async def change_employee_salary(session: WriteSession, command: ChangeEmployeeSalary) -> Outcome:
    step = _start(session, "CHANGE_SALARY")
    pk = command.id
    checks = Checks()
    salary = checks.money(("salary",), command.salary, required=True)
    note = details.note(checks, command.note)
    check_writable(checks, "Employee", {"salary": ("salary",)}, acting_roles(session, step.roles))
    checks.done()
    before = await lock_for(session, "Employee", "CHANGE_SALARY", pk, version=command.version)
    if before["salary"] == salary:
        raise CommandError("INVALID", "the salary already is this amount", field=["salary"])
    after = await session.update("employees", pk, {"salary": salary})
    await add_event(session, pk, "salary_changed", salary=salary, note=note)
    # The audit row keeps the salary's before and after; the event does not.
    await record(session, EMPLOYEE_SALARY_CHANGED.announce(summary(after)), before, after)
    return Outcome("Employee", pk)


async def terminate_employee(session: WriteSession, command: EndEmployment) -> Outcome:
    return await _end_employment(session, "TERMINATE", command, "terminated", EMPLOYEE_TERMINATED)


async def retire_employee(session: WriteSession, command: EndEmployment) -> Outcome:
    return await _end_employment(session, "RETIRE", command, "retired", EMPLOYEE_RETIRED)


async def _end_employment(
    session: WriteSession,
    action: str,
    command: EndEmployment,
    history_kind: str,
    event: EventType[EmploymentEndedPayload],
) -> Outcome:
    """TERMINATE or RETIRE: refused while employed people report to the employee;
    the departments they head are left without a head."""
    step = _start(session, action)
    pk = command.id
    checks = Checks()
    note = details.note(checks, command.note)
    checks.done()
    before = await lock_for(session, "Employee", action, pk, version=command.version)
    await tree.check_no_reports(session, pk)
    ended_on = command.ended_on or await details.today(session)
    if ended_on < before["hired_on"]:
        raise CommandError(
            "INVALID",
            f"{label(_ENDED_ON)} must not be before the first day ({before['hired_on'].isoformat()})",
            field=path_of(_ENDED_ON),
        )
    headed = await tree.clear_department_head(session, pk)
    after = await session.update("employees", pk, {"status": step.targets[0], "ended_on": ended_on})
    await add_event(session, pk, history_kind, note=note)
    extra = {"headOfDepartmentIds": {"before": headed, "after": []}} if headed else {}
    ended: EmploymentEndedPayload = {
        **summary(after),
        "from": before["status"],
        "endedOn": ended_on,
        "departmentsLeftWithoutHead": [encode_id("Department", d) for d in headed],
    }
    await record(session, event.announce(ended), before, after, extra_changes=extra)
    return Outcome("Employee", pk)
