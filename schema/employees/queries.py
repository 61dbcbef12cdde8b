"""Employee root fields."""

from __future__ import annotations

import strawberry

from schema.context import reads
from schema.employees.types import Employee
from schema.pagination import root_connection_field
from schema.planned import PlannedObject
from schema.selection import root_selection


@strawberry.type
class EmployeeQueries:
    @strawberry.field(
        description="An employee by ID; null (with a NOT_FOUND error) when it does not exist.",
        graphql_type=Employee | None,
    )
    async def employee(self, info: strawberry.Info, id: strawberry.ID) -> PlannedObject:
        return await reads(info).one("Employee", id, root_selection(info))

    employees = root_connection_field("employees", "Employee", "The organization's employees.")
