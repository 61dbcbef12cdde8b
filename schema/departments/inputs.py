"""Department filters and sorting."""

from __future__ import annotations

import enum
from typing import List, Optional

import strawberry
from strawberry import UNSET

from schema.filters import IDFilter, StringFilter
from schema.pagination import SortDirection


@strawberry.input(description="Conditions on departments; all given fields must hold.")
class DepartmentFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The department's ID.")
    code: Optional[StringFilter] = strawberry.field(default=UNSET, description="Code.")
    name: Optional[StringFilter] = strawberry.field(default=UNSET, description="Name.")
    parent_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The parent's ID (isNull: top level).")
    and_: Optional[List["DepartmentFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["DepartmentFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["DepartmentFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields departments can be sorted by.")
class DepartmentSortField(enum.Enum):
    ID = "ID"
    CODE = "CODE"
    NAME = "NAME"


@strawberry.input(description="One sort key for departments; ties are broken by ID.")
class DepartmentSort:
    field: DepartmentSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")
