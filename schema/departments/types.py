"""Department types."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.connections import connection_types
from schema.node import Node
from schema.pagination import connection_field

if TYPE_CHECKING:  # the lazy references below, for the type checker
    from schema.employees.types import Employee

EmployeeRef = Annotated["Employee", strawberry.lazy("schema.employees.types")]


@strawberry.type(description="A unit of the organization; departments nest.")
class Department(Node):
    code: str = strawberry.field(description="Short code, unique in the organization.")
    name: str = strawberry.field(description="Display name.")
    parent: Department | None = strawberry.field(description="The department this one belongs to.")
    children = connection_field("departments", "Department", "Departments directly below this one.")
    head: EmployeeRef | None = strawberry.field(description="The employee who heads the department.")
    employees = connection_field("employees", "Employee", "Employees working in this department.")
    created_at: dt.datetime = strawberry.field(description="When the department was created.")


DepartmentEdge, DepartmentConnection = connection_types(Department, "departments")
