"""Department root fields."""

from __future__ import annotations

import strawberry

from schema.context import reads
from schema.departments.types import Department
from schema.pagination import root_connection_field
from schema.planned import PlannedObject
from schema.selection import root_selection


@strawberry.type
class DepartmentQueries:
    @strawberry.field(
        description="A department by ID; null (with a NOT_FOUND error) when it does not exist.",
        graphql_type=Department | None,
    )
    async def department(self, info: strawberry.Info, id: strawberry.ID) -> PlannedObject:
        return await reads(info).one("Department", id, root_selection(info))

    departments = root_connection_field("departments", "Department", "The organization's departments.")
