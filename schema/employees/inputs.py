"""Employee and employment event filters and sorting."""

from __future__ import annotations

import enum
from typing import Annotated, List, Optional

import strawberry
from strawberry import UNSET

from schema.employees.types import EmployeeStatus, EmploymentEventKind
from schema.filters import DateFilter, DateTimeFilter, DecimalFilter, IDFilter, StringFilter, enum_filter
from schema.pagination import SortDirection

DepartmentFilterRef = Annotated["DepartmentFilter", strawberry.lazy("schema.departments.inputs")]
EmployeeStatusFilter = enum_filter(EmployeeStatus)
EmploymentEventKindFilter = enum_filter(EmploymentEventKind)


@strawberry.input(description="Conditions on employees; all given fields must hold.")
class EmployeeFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The employee's ID.")
    number: Optional[StringFilter] = strawberry.field(default=UNSET, description="Employee number.")
    first_name: Optional[StringFilter] = strawberry.field(default=UNSET, description="Given name.")
    last_name: Optional[StringFilter] = strawberry.field(default=UNSET, description="Family name.")
    email: Optional[StringFilter] = strawberry.field(default=UNSET, description="Work email.")
    title: Optional[StringFilter] = strawberry.field(default=UNSET, description="Job title.")
    status: Optional[EmployeeStatusFilter] = strawberry.field(default=UNSET, description="Status.")
    hired_on: Optional[DateFilter] = strawberry.field(default=UNSET, description="Hire date.")
    salary: Optional[DecimalFilter] = strawberry.field(default=UNSET, description="Salary.")
    department_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The department's ID.")
    manager_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The manager's ID.")
    department: Optional[DepartmentFilterRef] = strawberry.field(default=UNSET, description="Conditions on the department.")
    and_: Optional[List["EmployeeFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["EmployeeFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["EmployeeFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields employees can be sorted by.")
class EmployeeSortField(enum.Enum):
    ID = "ID"
    NUMBER = "NUMBER"
    LAST_NAME = "LAST_NAME"
    HIRED_ON = "HIRED_ON"


@strawberry.input(description="One sort key for employees; ties are broken by ID.")
class EmployeeSort:
    field: EmployeeSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")


@strawberry.input(description="Conditions on employment events; all given fields must hold.")
class EmploymentEventFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The event's ID.")
    kind: Optional[EmploymentEventKindFilter] = strawberry.field(default=UNSET, description="Kind.")
    occurred_at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="When it took effect.")
    and_: Optional[List["EmploymentEventFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["EmploymentEventFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["EmploymentEventFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields employment events can be sorted by.")
class EmploymentEventSortField(enum.Enum):
    ID = "ID"
    OCCURRED_AT = "OCCURRED_AT"


@strawberry.input(description="One sort key for employment events; ties are broken by ID.")
class EmploymentEventSort:
    field: EmploymentEventSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")
