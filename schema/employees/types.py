"""Employee and employment history types."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from app.workflows import EMPLOYEE
from schema.connections import connection_types
from schema.mutations import transitions_enum
from schema.node import Node
from schema.pagination import connection_field

if TYPE_CHECKING:  # the lazy references below, for the type checker
    from schema.departments.types import Department

DepartmentRef = Annotated["Department", strawberry.lazy("schema.departments.types")]


@strawberry.enum(description="Employment status: ONBOARDING → ACTIVE ⇄ ON_LEAVE → TERMINATED | RETIRED.")
class EmployeeStatus(enum.Enum):
    ONBOARDING = "ONBOARDING"
    ACTIVE = "ACTIVE"
    ON_LEAVE = "ON_LEAVE"
    TERMINATED = "TERMINATED"
    RETIRED = "RETIRED"


@strawberry.enum(description="A step in an employment's history.")
class EmploymentEventKind(enum.Enum):
    HIRED = "HIRED"
    TRANSFERRED = "TRANSFERRED"
    PROMOTED = "PROMOTED"
    SALARY_CHANGED = "SALARY_CHANGED"
    LEAVE_STARTED = "LEAVE_STARTED"
    LEAVE_ENDED = "LEAVE_ENDED"
    TERMINATED = "TERMINATED"
    RETIRED = "RETIRED"


# The actions of the workflow, as an enum strawberry builds at import: a variable, not a
# class, to the type checker (hence the ignore where it is used).
EmployeeTransition = transitions_enum(EMPLOYEE, "EmployeeTransition")


@strawberry.type(description="A person employed by the organization.")
class Employee(Node):
    number: str = strawberry.field(description="Employee number, unique in the organization.")
    first_name: str = strawberry.field(description="Given name.")
    last_name: str = strawberry.field(description="Family name.")
    full_name: str = strawberry.field(description="Given and family name.")
    email: str | None = strawberry.field(description="Work email; null with FORBIDDEN for analysts.")
    phone: str | None = strawberry.field(description="Work phone.")
    title: str = strawberry.field(description="Job title.")
    status: EmployeeStatus = strawberry.field(description="Employment status.")
    # Values are action names; their GraphQL enum is built from the lifecycle at
    # import, which the checker cannot read as a type.
    available_transitions: list[str] = strawberry.field(
        graphql_type=list[EmployeeTransition],  # type: ignore[valid-type]
        description="The lifecycle actions you may perform on this employee now.",
    )
    hired_on: dt.date = strawberry.field(description="First day of employment.")
    ended_on: dt.date | None = strawberry.field(description="Last day, for terminated or retired employees.")
    salary: decimal.Decimal | None = strawberry.field(
        description="Yearly gross salary in the organization's currency; readable by HR and admins, by managers for"
        " their reports and by employees for themselves (null with FORBIDDEN otherwise)."
    )
    date_of_birth: dt.date | None = strawberry.field(description="Date of birth.")
    national_id: str | None = strawberry.field(description="National identification number.")
    department: DepartmentRef | None = strawberry.field(description="The department the employee works in.")
    manager: Employee | None = strawberry.field(description="The employee's manager; null at the top.")
    reports = connection_field("employees", "Employee", "Direct reports.")
    history = connection_field("employees", "EmploymentEvent", "The employment's history, oldest first by default.")
    managed_customers = connection_field("customers", "Customer", "Customers this employee manages.")
    sales_orders = connection_field("orders", "Order", "Orders this employee sold.")
    version: int = strawberry.field(description="Incremented on every change; send it back when updating.")
    created_at: dt.datetime = strawberry.field(description="When the record was created.")
    updated_at: dt.datetime = strawberry.field(description="When the record last changed.")


@strawberry.type(description="One step of an employee's lifecycle (hired, transferred, promoted, …).")
class EmploymentEvent(Node):
    kind: EmploymentEventKind = strawberry.field(description="What happened.")
    occurred_at: dt.datetime = strawberry.field(description="When it took effect.")
    title: str | None = strawberry.field(description="Job title from this step on, if it changed.")
    salary: decimal.Decimal | None = strawberry.field(description="Salary from this step on, if it changed.")
    note: str | None = strawberry.field(description="Free-text note.")
    employee: Employee = strawberry.field(description="Whose employment.")
    department: DepartmentRef | None = strawberry.field(description="Department from this step on, if it changed.")
    manager: Employee | None = strawberry.field(description="Manager from this step on, if it changed.")


EmployeeEdge, EmployeeConnection = connection_types(Employee, "employees")
EmploymentEventEdge, EmploymentEventConnection = connection_types(EmploymentEvent, "employment events")
