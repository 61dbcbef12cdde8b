"""Employee mutations: the employment from hire to retirement. HR's and admins' business."""

from __future__ import annotations

from typing import List, Optional

import strawberry

from resolvers.employees import career, commands
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
from schema.mutations import UserError, provided, run_command

_ROLES = " Roles: admin, hr."
_LEAVING = (
    " Refused (HAS_REPORTS) while employed people report to the employee: transfer them first. Departments the"
    " employee heads are left without a head (the audit entry and the event list them)."
)


@strawberry.type(description="The result of an employee mutation.")
class EmployeePayload:
    employee: Optional[Employee] = strawberry.field(description="The employee as the mutation left it; null on errors.")
    errors: List[UserError] = strawberry.field(description="Why nothing changed; empty on success.")


@strawberry.type
class EmployeeMutations:
    @strawberry.mutation(
        description="Hire someone: a new employee number, ONBOARDING when hiredOn is after today (else ACTIVE), and"
        " a HIRED step in the history." + _ROLES
    )
    async def hire_employee(self, info: strawberry.Info, input: HireEmployeeInput) -> EmployeePayload:
        return await run_command(info, "employee", lambda s: commands.hire(s, provided(input)))

    @strawberry.mutation(
        description="Change an employee's details. A new title adds a PROMOTED step to the history; names, contacts"
        " and personal data change no history (the audit log records them)." + _ROLES
    )
    async def update_employee(self, info: strawberry.Info, input: UpdateEmployeeInput) -> EmployeePayload:
        return await run_command(info, "employee", lambda s: commands.update(s, provided(input)))

    @strawberry.mutation(
        description="The first working day: ONBOARDING → ACTIVE, once hiredOn has come. No history step (the"
        " history's HIRED step already dates the start)." + _ROLES
    )
    async def activate_employee(self, info: strawberry.Info, input: EmployeeTransitionInput) -> EmployeePayload:
        return await run_command(info, "employee", lambda s: career.change_status(s, "ACTIVATE", provided(input)))

    @strawberry.mutation(
        description="Move an employee to another department and/or manager (a TRANSFERRED step in the history)."
        + _ROLES
    )
    async def transfer_employee(self, info: strawberry.Info, input: TransferEmployeeInput) -> EmployeePayload:
        return await run_command(info, "employee", lambda s: career.transfer(s, provided(input)))

    @strawberry.mutation(description="Change an employee's salary (a SALARY_CHANGED step in the history)." + _ROLES)
    async def change_employee_salary(self, info: strawberry.Info, input: ChangeEmployeeSalaryInput) -> EmployeePayload:
        return await run_command(info, "employee", lambda s: career.change_salary(s, provided(input)))

    @strawberry.mutation(description="Start a leave of absence: ACTIVE → ON_LEAVE (LEAVE_STARTED)." + _ROLES)
    async def start_leave(self, info: strawberry.Info, input: StartLeaveInput) -> EmployeePayload:
        return await run_command(info, "employee", lambda s: career.change_status(s, "START_LEAVE", provided(input)))

    @strawberry.mutation(description="Come back from leave: ON_LEAVE → ACTIVE (LEAVE_ENDED)." + _ROLES)
    async def end_leave(self, info: strawberry.Info, input: EmployeeTransitionInput) -> EmployeePayload:
        return await run_command(info, "employee", lambda s: career.change_status(s, "END_LEAVE", provided(input)))

    @strawberry.mutation(
        description="End an employment: ONBOARDING, ACTIVE or ON_LEAVE → TERMINATED, with its last day (TERMINATED)."
        + _LEAVING + _ROLES
    )
    async def terminate_employee(self, info: strawberry.Info, input: EndEmploymentInput) -> EmployeePayload:
        return await run_command(info, "employee", lambda s: career.end_employment(s, "TERMINATE", provided(input)))

    @strawberry.mutation(
        description="Retire an employee: ACTIVE or ON_LEAVE → RETIRED, with the last day (RETIRED)." + _LEAVING + _ROLES
    )
    async def retire_employee(self, info: strawberry.Info, input: EndEmploymentInput) -> EmployeePayload:
        return await run_command(info, "employee", lambda s: career.end_employment(s, "RETIRE", provided(input)))
