"""Employee mutations: the employment from hire to retirement. HR's and admins' business."""

from __future__ import annotations

import strawberry

from resolvers.employees import commands
from resolvers.employees.inputs import (
    ActivateEmployee,
    ChangeEmployeeSalary,
    EndEmployment,
    EndLeave,
    HireEmployee,
    StartLeave,
    TransferEmployee,
    UpdateEmployee,
)
from resolvers.writes.inputs import UNCHANGED, Maybe
from schema.employees.inputs import (
    ChangeEmployeeSalaryInput,
    EmployeeTransitionInput,
    EndEmploymentInput,
    HireEmployeeInput,
    StartLeaveInput,
    TransferEmployeeInput,
    UpdateEmployeeInput,
)
from schema.employees.types import Employee
from schema.mutations import GlobalIds, UserError, given_or_none, maybe, run_command
from schema.planned import PlannedObject

_ROLES = " Roles: admin, hr."
_LEAVING = (
    " Refused (HAS_REPORTS) while employed people report to the employee: transfer them first. Departments the"
    " employee heads are left without a head (the audit entry and the event list them)."
)


@strawberry.type(description="The result of an employee mutation.")
class EmployeePayload:
    employee: Employee | None = strawberry.field(description="The employee as the mutation left it; null on errors.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class EmployeeMutations:
    @strawberry.mutation(
        description="Hire someone: a new employee number, ONBOARDING when hiredOn is after today (else ACTIVE), and"
        " a HIRED step in the history." + _ROLES,
        graphql_type=EmployeePayload,
    )
    async def hire_employee(self, info: strawberry.Info, input: HireEmployeeInput) -> PlannedObject:
        return await run_command(info, "employee", lambda s: commands.hire_employee(s, _hire_employee(input)))

    @strawberry.mutation(
        description="Change an employee's details. A new title adds a PROMOTED step to the history; names, contacts"
        " and personal data change no history (the audit log records them)." + _ROLES,
        graphql_type=EmployeePayload,
    )
    async def update_employee(self, info: strawberry.Info, input: UpdateEmployeeInput) -> PlannedObject:
        return await run_command(info, "employee", lambda s: commands.update_employee(s, _update_employee(input)))

    @strawberry.mutation(
        description="The first working day: ONBOARDING → ACTIVE, once hiredOn has come. No history step (the"
        " history's HIRED step already dates the start)." + _ROLES,
        graphql_type=EmployeePayload,
    )
    async def activate_employee(self, info: strawberry.Info, input: EmployeeTransitionInput) -> PlannedObject:
        return await run_command(info, "employee", lambda s: commands.activate_employee(s, _activate_employee(input)))

    @strawberry.mutation(
        description="Move an employee to another department and/or manager (a TRANSFERRED step in the history)."
        + _ROLES,
        graphql_type=EmployeePayload,
    )
    async def transfer_employee(self, info: strawberry.Info, input: TransferEmployeeInput) -> PlannedObject:
        return await run_command(info, "employee", lambda s: commands.transfer_employee(s, _transfer_employee(input)))

    @strawberry.mutation(
        description="Change an employee's salary (a SALARY_CHANGED step in the history)." + _ROLES,
        graphql_type=EmployeePayload,
    )
    async def change_employee_salary(self, info: strawberry.Info, input: ChangeEmployeeSalaryInput) -> PlannedObject:
        return await run_command(
            info, "employee", lambda s: commands.change_employee_salary(s, _change_employee_salary(input))
        )

    @strawberry.mutation(
        description="Start a leave of absence: ACTIVE → ON_LEAVE (LEAVE_STARTED)." + _ROLES,
        graphql_type=EmployeePayload,
    )
    async def start_leave(self, info: strawberry.Info, input: StartLeaveInput) -> PlannedObject:
        return await run_command(info, "employee", lambda s: commands.start_leave(s, _start_leave(input)))

    @strawberry.mutation(
        description="Come back from leave: ON_LEAVE → ACTIVE (LEAVE_ENDED)." + _ROLES, graphql_type=EmployeePayload
    )
    async def end_leave(self, info: strawberry.Info, input: EmployeeTransitionInput) -> PlannedObject:
        return await run_command(info, "employee", lambda s: commands.end_leave(s, _end_leave(input)))

    @strawberry.mutation(
        description="End an employment: ONBOARDING, ACTIVE or ON_LEAVE → TERMINATED, with its last day (TERMINATED)."
        + _LEAVING
        + _ROLES,
        graphql_type=EmployeePayload,
    )
    async def terminate_employee(self, info: strawberry.Info, input: EndEmploymentInput) -> PlannedObject:
        return await run_command(info, "employee", lambda s: commands.terminate_employee(s, _end_employment(input)))

    @strawberry.mutation(
        description="Retire an employee: ACTIVE or ON_LEAVE → RETIRED, with the last day (RETIRED)."
        + _LEAVING
        + _ROLES,
        graphql_type=EmployeePayload,
    )
    async def retire_employee(self, info: strawberry.Info, input: EndEmploymentInput) -> PlannedObject:
        return await run_command(info, "employee", lambda s: commands.retire_employee(s, _end_employment(input)))


# GraphQL inputs → the commands' inputs: global IDs decoded (every bad one
# refused at once, before the command runs), fields not sent left UNCHANGED
# where the command tells "leave as is" from null, else None.


def _employee_id(ids: GlobalIds, value: strawberry.ID) -> int:
    return ids.key("id", value, "Employee")


def _key_or_none(ids: GlobalIds, name: str, value: strawberry.ID | None, type_name: str) -> int | None:
    """An optional reference where not sent and null mean the same (a new hire's department, manager)."""
    key: Maybe[int | None] = ids.optional(name, value, type_name)
    return None if key is UNCHANGED else key


def _hire_employee(input: HireEmployeeInput) -> HireEmployee:
    ids = GlobalIds()
    department_id = _key_or_none(ids, "department_id", input.department_id, "Department")
    manager_id = _key_or_none(ids, "manager_id", input.manager_id, "Employee")
    ids.done()
    return HireEmployee(
        first_name=input.first_name,
        last_name=input.last_name,
        email=input.email,
        title=input.title,
        salary=input.salary,
        hired_on=input.hired_on,
        phone=given_or_none(input.phone),
        department_id=department_id,
        manager_id=manager_id,
        date_of_birth=given_or_none(input.date_of_birth),
        national_id=given_or_none(input.national_id),
    )


def _update_employee(input: UpdateEmployeeInput) -> UpdateEmployee:
    ids = GlobalIds()
    employee_id = _employee_id(ids, input.id)
    ids.done()
    return UpdateEmployee(
        id=employee_id,
        version=input.version,
        first_name=maybe(input.first_name),
        last_name=maybe(input.last_name),
        email=maybe(input.email),
        phone=maybe(input.phone),
        title=maybe(input.title),
        date_of_birth=maybe(input.date_of_birth),
        national_id=maybe(input.national_id),
    )


def _activate_employee(input: EmployeeTransitionInput) -> ActivateEmployee:
    ids = GlobalIds()
    employee_id = _employee_id(ids, input.id)
    ids.done()
    return ActivateEmployee(id=employee_id, version=given_or_none(input.version))


def _start_leave(input: StartLeaveInput) -> StartLeave:
    ids = GlobalIds()
    employee_id = _employee_id(ids, input.id)
    ids.done()
    return StartLeave(id=employee_id, version=given_or_none(input.version), note=given_or_none(input.note))


def _end_leave(input: EmployeeTransitionInput) -> EndLeave:
    ids = GlobalIds()
    employee_id = _employee_id(ids, input.id)
    ids.done()
    return EndLeave(id=employee_id, version=given_or_none(input.version))


def _transfer_employee(input: TransferEmployeeInput) -> TransferEmployee:
    ids = GlobalIds()
    employee_id = _employee_id(ids, input.id)
    department_id = ids.optional("department_id", input.department_id, "Department")
    manager_id = ids.optional("manager_id", input.manager_id, "Employee")
    ids.done()
    return TransferEmployee(
        id=employee_id,
        version=given_or_none(input.version),
        department_id=department_id,
        manager_id=manager_id,
        note=given_or_none(input.note),
    )


def _change_employee_salary(input: ChangeEmployeeSalaryInput) -> ChangeEmployeeSalary:
    ids = GlobalIds()
    employee_id = _employee_id(ids, input.id)
    ids.done()
    return ChangeEmployeeSalary(
        id=employee_id, salary=input.salary, version=given_or_none(input.version), note=given_or_none(input.note)
    )


def _end_employment(input: EndEmploymentInput) -> EndEmployment:
    ids = GlobalIds()
    employee_id = _employee_id(ids, input.id)
    ids.done()
    return EndEmployment(
        id=employee_id,
        version=given_or_none(input.version),
        ended_on=given_or_none(input.ended_on),
        note=given_or_none(input.note),
    )
