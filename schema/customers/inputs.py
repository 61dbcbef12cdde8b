"""Customer filters and sorting."""

from __future__ import annotations

import enum
from typing import Annotated, List, Optional

import strawberry
from strawberry import UNSET

from schema.customers.types import CustomerKind, CustomerSegment, CustomerStatus
from schema.filters import DateTimeFilter, DecimalFilter, IDFilter, StringFilter, enum_filter
from schema.pagination import SortDirection

EmployeeFilterRef = Annotated["EmployeeFilter", strawberry.lazy("schema.employees.inputs")]
CustomerStatusFilter = enum_filter(CustomerStatus)
CustomerKindFilter = enum_filter(CustomerKind)
CustomerSegmentFilter = enum_filter(CustomerSegment)


@strawberry.input(description="Conditions on customers; all given fields must hold.")
class CustomerFilter:
    id: Optional[IDFilter] = strawberry.field(default=UNSET, description="The customer's ID.")
    number: Optional[StringFilter] = strawberry.field(default=UNSET, description="Customer number.")
    name: Optional[StringFilter] = strawberry.field(default=UNSET, description="Name.")
    email: Optional[StringFilter] = strawberry.field(default=UNSET, description="Email.")
    kind: Optional[CustomerKindFilter] = strawberry.field(default=UNSET, description="Company or individual.")
    segment: Optional[CustomerSegmentFilter] = strawberry.field(default=UNSET, description="Segment.")
    country: Optional[StringFilter] = strawberry.field(default=UNSET, description="Country code.")
    status: Optional[CustomerStatusFilter] = strawberry.field(default=UNSET, description="Status.")
    credit_limit: Optional[DecimalFilter] = strawberry.field(default=UNSET, description="Credit limit.")
    created_at: Optional[DateTimeFilter] = strawberry.field(default=UNSET, description="Creation time.")
    account_manager_id: Optional[IDFilter] = strawberry.field(default=UNSET, description="Account manager's ID.")
    account_manager: Optional[EmployeeFilterRef] = strawberry.field(
        default=UNSET, description="Conditions on the account manager."
    )
    and_: Optional[List["CustomerFilter"]] = strawberry.field(name="and", default=UNSET, description="All of.")
    or_: Optional[List["CustomerFilter"]] = strawberry.field(name="or", default=UNSET, description="Any of.")
    not_: Optional["CustomerFilter"] = strawberry.field(name="not", default=UNSET, description="Not this.")


@strawberry.enum(description="Fields customers can be sorted by.")
class CustomerSortField(enum.Enum):
    ID = "ID"
    NUMBER = "NUMBER"
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    CREDIT_LIMIT = "CREDIT_LIMIT"


@strawberry.input(description="One sort key for customers; ties are broken by ID.")
class CustomerSort:
    field: CustomerSortField = strawberry.field(description="What to sort by.")
    direction: SortDirection = strawberry.field(default=SortDirection.ASC, description="Ascending or descending.")
