"""invoice immutability: an issued invoice and its lines never change

Once an invoice leaves DRAFT, only what paying and the lifecycle move may
change: ``amount_paid``, ``status``, ``version`` and ``updated_at``. Its number,
order, customer, dates and totals are refused by a trigger, and so is deleting
it (its number would leave a gap). Its lines may be neither updated nor
deleted. One exception: deleting a product sets ``product_id`` to NULL on the
lines that sold it (the SKU and name snapshot stay). Inserts are not guarded:
the issuing transaction writes the lines right after the invoice, and the seed
bulk-loads issued invoices with COPY, which fires no UPDATE or DELETE trigger.

The services never attempt any of this; the triggers stop everything else
(a script, a console session, a future bug) with a check violation named
``invoice_issued_immutable`` or ``invoice_lines_immutable``. Triggers are
invisible to alembic's autogenerate, so the models have no counterpart.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INVOICE_GUARD = """
CREATE FUNCTION bizgraph_invoice_immutable() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF OLD.status = 'draft' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'invoice % is issued: it may not be deleted', OLD.number
            USING ERRCODE = 'check_violation', CONSTRAINT = 'invoice_issued_immutable', TABLE = TG_TABLE_NAME;
    END IF;
    IF (NEW.id, NEW.org_id, NEW.number, NEW.year, NEW.seq, NEW.order_id, NEW.customer_id, NEW.issued_at,
        NEW.due_at, NEW.subtotal, NEW.tax, NEW.total, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.org_id, OLD.number, OLD.year, OLD.seq, OLD.order_id, OLD.customer_id, OLD.issued_at,
        OLD.due_at, OLD.subtotal, OLD.tax, OLD.total, OLD.created_at) THEN
        RAISE EXCEPTION 'invoice % is issued: only its payments and status may change', OLD.number
            USING ERRCODE = 'check_violation', CONSTRAINT = 'invoice_issued_immutable', TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END
$$
"""

LINES_GUARD = """
CREATE FUNCTION bizgraph_invoice_lines_immutable() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    -- A deleted product leaves its name and SKU on the line, not its id.
    IF TG_OP = 'UPDATE' AND NEW.product_id IS NULL
       AND (NEW.id, NEW.org_id, NEW.invoice_id, NEW.line_no, NEW.sku, NEW.description, NEW.quantity,
            NEW.unit_price, NEW.discount, NEW.tax_rate, NEW.line_total)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.org_id, OLD.invoice_id, OLD.line_no, OLD.sku, OLD.description, OLD.quantity,
            OLD.unit_price, OLD.discount, OLD.tax_rate, OLD.line_total) THEN
        RETURN NEW;
    END IF;
    -- Lines of a draft may change. A line whose invoice is not found is being
    -- deleted along with it (and only drafts may be deleted).
    IF EXISTS (SELECT 1 FROM invoices i WHERE i.id = OLD.invoice_id AND i.status <> 'draft') THEN
        RAISE EXCEPTION 'the lines of an issued invoice never change'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'invoice_lines_immutable', TABLE = TG_TABLE_NAME;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$
"""


def upgrade() -> None:
    op.execute(INVOICE_GUARD)
    op.execute(LINES_GUARD)
    op.execute(
        "CREATE TRIGGER invoice_immutable BEFORE UPDATE OR DELETE ON invoices"
        " FOR EACH ROW EXECUTE FUNCTION bizgraph_invoice_immutable()"
    )
    op.execute(
        "CREATE TRIGGER invoice_lines_immutable BEFORE UPDATE OR DELETE ON invoice_lines"
        " FOR EACH ROW EXECUTE FUNCTION bizgraph_invoice_lines_immutable()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER invoice_lines_immutable ON invoice_lines")
    op.execute("DROP TRIGGER invoice_immutable ON invoices")
    op.execute("DROP FUNCTION bizgraph_invoice_lines_immutable()")
    op.execute("DROP FUNCTION bizgraph_invoice_immutable()")
