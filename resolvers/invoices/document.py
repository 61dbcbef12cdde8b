"""An invoice's document for one principal: found by its global ID or its number,
in the principal's row scope (the policy table's), issued. Anything else is not
found, so the answer says nothing about invoices out of scope."""

from __future__ import annotations

from app.auth.principal import Principal
from app.db import Database
from app.documents import InvoiceDocument, load_invoice_document
from resolvers.catalog import CATALOG
from resolvers.planner.access import Access
from resolvers.planner.ids import decode_id
from resolvers.planner.sqltext import SqlParams

# An invoice number as issuing gives it (resolvers/invoices/issuing.py), or as imported.
_NUMBER_PREFIX = "INV-"


def invoice_reference(reference: str) -> tuple[str, str | int]:
    """``("number", "INV-2026-000042")`` or ``("id", 42)`` for a global ID of an Invoice;
    ``InvalidId`` otherwise."""
    if reference.startswith(_NUMBER_PREFIX) and len(reference) <= 32:
        return "number", reference
    _, pk = decode_id(reference, "Invoice")
    return "id", pk


async def invoice_document(database: Database, principal: Principal, reference: str) -> InvoiceDocument | None:
    """The document of the invoice ``reference`` names, if the principal may see it
    and it was issued; None otherwise. ``InvalidId`` for a reference of no form."""
    column, value = invoice_reference(reference)
    params = SqlParams()
    visible = Access(principal).rows(CATALOG["Invoice"], "t", params)
    sql = f"SELECT t.id FROM invoices t WHERE t.{column} = %(wanted)s AND {visible}"
    async with database.read_as(principal.org_id) as connection:
        found = (await connection.exec_driver_sql(sql, {**params.values, "wanted": value})).scalar()
        if found is None:
            return None
        return await load_invoice_document(connection, principal.org_id, found)
