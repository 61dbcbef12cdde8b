"""The employment events: a hire, each step of the career, and the end.

Every employee event carries who it is about and where they sit in the
organization (``EmployeeSummary``), never the salary, the date of birth or the
national id: integrations read the outbox, HR reads the audit log.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from app.events.catalog import declare


class EmployeeSummary(TypedDict):
    """The employee as the event left them (status as stored, ``active``; IDs global)."""

    id: str
    number: str
    status: str
    departmentId: str | None
    managerId: str | None


class EmployeeHiredPayload(EmployeeSummary):
    hiredOn: dt.date


class EmployeeUpdatedPayload(EmployeeSummary):
    fields: list[str]  # the names of the changed fields, never their values


# "from" is a Python keyword, so this part is spelled with the functional syntax.
_StatusBefore = TypedDict("_StatusBefore", {"from": str})


class EmployeeStatusChangedPayload(EmployeeSummary, _StatusBefore):
    """``from`` is the status before the change; ``status`` the one after."""


class EmploymentEndedPayload(EmployeeStatusChangedPayload):
    endedOn: dt.date
    departmentsLeftWithoutHead: list[str]


EMPLOYEE_HIRED = declare(
    "employee.hired",
    "Employee",
    EmployeeHiredPayload,
    "Someone was hired: a new employee, ONBOARDING until the first day (hiredOn) comes, else ACTIVE.",
)
EMPLOYEE_UPDATED = declare(
    "employee.updated",
    "Employee",
    EmployeeUpdatedPayload,
    "The employee's details changed; fields names the changed fields, never their values.",
)
EMPLOYEE_ACTIVATED = declare(
    "employee.activated",
    "Employee",
    EmployeeStatusChangedPayload,
    "The employee's first working day came: ONBOARDING became ACTIVE.",
)
EMPLOYEE_TRANSFERRED = declare(
    "employee.transferred",
    "Employee",
    EmployeeSummary,
    "The employee moved to another department and/or manager; departmentId and managerId say where they are now.",
)
EMPLOYEE_SALARY_CHANGED = declare(
    "employee.salary_changed",
    "Employee",
    EmployeeSummary,
    "The employee's salary changed; the amount is never in the event, only in the audit log.",
)
EMPLOYEE_LEAVE_STARTED = declare(
    "employee.leave_started",
    "Employee",
    EmployeeStatusChangedPayload,
    "The employee started a leave of absence: ACTIVE became ON_LEAVE.",
)
EMPLOYEE_LEAVE_ENDED = declare(
    "employee.leave_ended",
    "Employee",
    EmployeeStatusChangedPayload,
    "The employee came back from leave: ON_LEAVE became ACTIVE.",
)
EMPLOYEE_TERMINATED = declare(
    "employee.terminated",
    "Employee",
    EmploymentEndedPayload,
    "The employment was ended on endedOn; departmentsLeftWithoutHead lists the departments the employee headed.",
)
EMPLOYEE_RETIRED = declare(
    "employee.retired",
    "Employee",
    EmploymentEndedPayload,
    "The employee retired on endedOn; departmentsLeftWithoutHead lists the departments the employee headed.",
)
