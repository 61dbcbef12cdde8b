"""Aggregate root fields: counts, sums, averages, minimums and maximums, grouped."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry import UNSET

from schema.analytics.types import (
    EmployeeGroup,
    EmployeeGroupBy,
    InvoiceGroup,
    InvoiceGroupBy,
    OrderGroup,
    OrderGroupBy,
    OrderLineGroup,
    OrderLineGroupBy,
    PaymentGroup,
    PaymentGroupBy,
)
from schema.context import reads
from schema.cost.directives import ListSize
from schema.employees.inputs import EmployeeFilter
from schema.invoices.inputs import InvoiceFilter, PaymentFilter
from schema.orders.inputs import OrderFilter, OrderLineFilter
from schema.planned import PlannedObject
from schema.selection import root_selection

HELP = " Groups come ordered by bucket, then dimensions; at most 1000 (configurable), else TOO_MANY_GROUPS."
# Counted at the default group cap: an aggregate may answer that many groups.
GROUPS = ListSize(assumed_size=1000)


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(
        description="Order counts and amounts, grouped." + HELP,
        graphql_type=list[OrderGroup] | None,
        directives=[GROUPS],
    )
    async def orders_aggregate(
        self, info: strawberry.Info, filter: OrderFilter | None = UNSET, group_by: OrderGroupBy | None = UNSET
    ) -> Sequence[PlannedObject]:
        return await reads(info).aggregate("Order", root_selection(info))

    @strawberry.field(
        description="Invoice counts and amounts, grouped." + HELP,
        graphql_type=list[InvoiceGroup] | None,
        directives=[GROUPS],
    )
    async def invoices_aggregate(
        self, info: strawberry.Info, filter: InvoiceFilter | None = UNSET, group_by: InvoiceGroupBy | None = UNSET
    ) -> Sequence[PlannedObject]:
        return await reads(info).aggregate("Invoice", root_selection(info))

    @strawberry.field(
        description="Payment counts and amounts, grouped." + HELP,
        graphql_type=list[PaymentGroup] | None,
        directives=[GROUPS],
    )
    async def payments_aggregate(
        self, info: strawberry.Info, filter: PaymentFilter | None = UNSET, group_by: PaymentGroupBy | None = UNSET
    ) -> Sequence[PlannedObject]:
        return await reads(info).aggregate("Payment", root_selection(info))

    @strawberry.field(
        description="Order line counts, quantities and amounts, grouped." + HELP,
        graphql_type=list[OrderLineGroup] | None,
        directives=[GROUPS],
    )
    async def order_lines_aggregate(
        self,
        info: strawberry.Info,
        filter: OrderLineFilter | None = UNSET,
        group_by: OrderLineGroupBy | None = UNSET,
    ) -> Sequence[PlannedObject]:
        return await reads(info).aggregate("OrderLine", root_selection(info))

    @strawberry.field(
        description="Employee counts and salaries, grouped." + HELP,
        graphql_type=list[EmployeeGroup] | None,
        directives=[GROUPS],
    )
    async def employees_aggregate(
        self,
        info: strawberry.Info,
        filter: EmployeeFilter | None = UNSET,
        group_by: EmployeeGroupBy | None = UNSET,
    ) -> Sequence[PlannedObject]:
        return await reads(info).aggregate("Employee", root_selection(info))
