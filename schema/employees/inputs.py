"""Employee and employment event filters and sorting, derived from their catalog entries; the inputs of the employee
mutations."""

from __future__ import annotations

import datetime
import decimal

import strawberry
from strawberry import UNSET

from resolvers.employees.catalog import EMPLOYEE, EMPLOYMENT_EVENT
from schema.derived_inputs import filter_input, sort_inputs
from schema.employees.types import Employee, EmploymentEvent


@filter_input(EMPLOYEE, Employee)
class EmployeeFilter:
    """Its fields are the filters of ``EMPLOYEE`` in resolvers/employees/catalog.py."""


EmployeeSortField, EmployeeSort = sort_inputs(EMPLOYEE)


@filter_input(EMPLOYMENT_EVENT, EmploymentEvent)
class EmploymentEventFilter:
    """Its fields are the filters of ``EMPLOYMENT_EVENT`` in resolvers/employees/catalog.py."""


EmploymentEventSortField, EmploymentEventSort = sort_inputs(EMPLOYMENT_EVENT)


@strawberry.input(description="A new hire. HR and admins only.")
class HireEmployeeInput:
    first_name: str = strawberry.field(description="Given name (up to 100 characters).")
    last_name: str = strawberry.field(description="Family name (up to 100 characters).")
    email: str = strawberry.field(description="Work email, unique in the organization (DUPLICATE otherwise).")
    title: str = strawberry.field(description="Job title (up to 120 characters).")
    salary: decimal.Decimal = strawberry.field(description="Yearly gross salary: at least 0, at most 2 decimal places.")
    hired_on: datetime.date = strawberry.field(
        description="First day of work. After today the employee starts ONBOARDING, otherwise ACTIVE."
    )
    phone: str | None = strawberry.field(default=UNSET, description="Work phone (up to 32 characters).")
    department_id: strawberry.ID | None = strawberry.field(default=UNSET, description="The department.")
    manager_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The manager: an employee who is not TERMINATED or RETIRED."
    )
    date_of_birth: datetime.date | None = strawberry.field(
        default=UNSET, description="Date of birth: in the past, and at least 14 years before hiredOn."
    )
    national_id: str | None = strawberry.field(
        default=UNSET, description="National identification number (up to 32 characters)."
    )


@strawberry.input(
    description="Changes to an employee's details; fields left out stay as they are. A new title is recorded as a"
    " PROMOTED step of the history; the other fields (names, contacts, personal data) change no history, only the"
    " audit log."
)
class UpdateEmployeeInput:
    id: strawberry.ID = strawberry.field(description="The employee to change.")
    version: int = strawberry.field(description="The version you read; a stale one changes nothing (CONFLICT).")
    first_name: str | None = strawberry.field(default=UNSET, description="Given name (up to 100 characters).")
    last_name: str | None = strawberry.field(default=UNSET, description="Family name (up to 100 characters).")
    email: str | None = strawberry.field(default=UNSET, description="Work email, unique in the organization.")
    phone: str | None = strawberry.field(default=UNSET, description="Work phone; null clears it.")
    title: str | None = strawberry.field(
        default=UNSET, description="Job title; a new one adds a PROMOTED step to the history."
    )
    date_of_birth: datetime.date | None = strawberry.field(
        default=UNSET, description="Date of birth (in the past, at least 14 years before hiredOn); null clears it."
    )
    national_id: str | None = strawberry.field(
        default=UNSET, description="National identification number; null clears it."
    )


@strawberry.input(description="A lifecycle action on an employee.")
class EmployeeTransitionInput:
    id: strawberry.ID = strawberry.field(description="The employee.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )


@strawberry.input(description="The start of an employee's leave of absence.")
class StartLeaveInput:
    id: strawberry.ID = strawberry.field(description="The employee.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    note: str | None = strawberry.field(default=UNSET, description="Why, for the history (up to 500 characters).")


@strawberry.input(
    description="A move to another department and/or manager: give departmentId, managerId or both; a field left"
    " out stays as it is."
)
class TransferEmployeeInput:
    id: strawberry.ID = strawberry.field(description="The employee.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    department_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The new department; null leaves the employee without one."
    )
    manager_id: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="The new manager; null leaves the employee without one. Not the employee, nor anyone below them"
        " (MANAGEMENT_CYCLE), nor anyone TERMINATED or RETIRED.",
    )
    note: str | None = strawberry.field(default=UNSET, description="Why, for the history (up to 500 characters).")


@strawberry.input(description="A new salary for an employee.")
class ChangeEmployeeSalaryInput:
    id: strawberry.ID = strawberry.field(description="The employee.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    salary: decimal.Decimal = strawberry.field(
        description="The new yearly gross salary: at least 0, at most 2 decimal places, different from the current one."
    )
    note: str | None = strawberry.field(default=UNSET, description="Why, for the history (up to 500 characters).")


@strawberry.input(description="The end of an employment (termination or retirement).")
class EndEmploymentInput:
    id: strawberry.ID = strawberry.field(description="The employee.")
    version: int | None = strawberry.field(
        default=UNSET, description="The version you read; when given, a stale one changes nothing (CONFLICT)."
    )
    ended_on: datetime.date | None = strawberry.field(
        default=UNSET, description="The last day of work; today when left out. Not before hiredOn."
    )
    note: str | None = strawberry.field(default=UNSET, description="Why, for the history (up to 500 characters).")
