"""Invoice and payment root fields."""

from __future__ import annotations

import strawberry

from schema.context import reads
from schema.invoices.types import Invoice
from schema.pagination import root_connection_field
from schema.planned import PlannedObject
from schema.selection import root_selection


@strawberry.type
class InvoiceQueries:
    @strawberry.field(
        description="An invoice by ID; null (with a NOT_FOUND error) when it does not exist.",
        graphql_type=Invoice | None,
    )
    async def invoice(self, info: strawberry.Info, id: strawberry.ID) -> PlannedObject:
        return await reads(info).one("Invoice", id, root_selection(info))

    invoices = root_connection_field("invoices", "Invoice", "The organization's invoices.")
    payments = root_connection_field("invoices", "Payment", "Payments received by the organization.")
