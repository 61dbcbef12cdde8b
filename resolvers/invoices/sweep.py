"""The overdue sweep: every open invoice past its due date becomes overdue.

Set-based, so its cost in statements does not grow with the invoices it marks:
one UPDATE marks them all and returns what the audit needs, and one statement
writes every audit row and every ``invoice.overdue`` event. The CLI
(``bizgraph sweep-overdue``) runs the same command per organization, as a
service principal, through row-level security like any request.
"""

from __future__ import annotations

import datetime as dt

from app.auth.principal import Principal
from app.db import Database
from app.errors import BizgraphError
from app.events.invoices import INVOICE_OVERDUE, InvoiceOverduePayload
from app.workflows import COMMANDS, INVOICE
from resolvers.invoices.common import check_moment
from resolvers.invoices.inputs import SweepOverdueInvoices
from resolvers.planner.ids import encode_id
from resolvers.planner.pagination import PageLimits
from resolvers.planner.transitions import guard_sql, in_source_state
from resolvers.writes.checks import Checks
from resolvers.writes.lifecycle import acting_roles, require_role
from resolvers.writes.runner import CommandService, Outcome
from resolvers.writes.session import Entry, Row, WriteSession

SWEEPER = "bizgraph-sweep"

# The CTE locks the rows in id order (concurrent sweeps do not deadlock) and
# keeps each row's status before the update, which RETURNING cannot see.
_MARK = """
WITH due AS (
    SELECT t.id, t.status FROM invoices t
    WHERE t.org_id = %(org)s AND {conditions}
      AND t.due_at < least(COALESCE(%(as_of)s::timestamptz, now()), now())
    ORDER BY t.id
    FOR UPDATE OF t
)
UPDATE invoices i SET status = %(target)s, version = i.version + 1, updated_at = now()
FROM due WHERE i.id = due.id
RETURNING i.id, i.number, due.status AS before, i.total - i.amount_paid AS amount_due
"""


async def sweep_overdue_invoices(session: WriteSession, command: SweepOverdueInvoices) -> Outcome:
    require_role(session, COMMANDS["sweep_overdue_invoices"], "sweep overdue invoices")
    checks = Checks()
    as_of = check_moment(checks, ("as_of",), command.as_of)
    checks.done()
    step = INVOICE["MARK_OVERDUE"]
    scope, params = session.scope("Invoice", "t", acting_roles(session, step.roles))
    # The machine's own source states and guards, so the sweep and
    # availableTransitions agree on what MARK_OVERDUE may touch.
    conditions = " AND ".join([in_source_state(step, "t"), *guard_sql(step, "t"), scope])
    marked = await session.rows(
        _MARK.replace("{conditions}", conditions), {**params, "as_of": as_of, "target": step.targets[0]}
    )
    await session.record_all(
        Entry(
            INVOICE_OVERDUE.name,
            "Invoice",
            row["id"],
            {"status": {"before": row["before"], "after": step.targets[0]}},
            [INVOICE_OVERDUE.announce(_overdue(row))],
        )
        for row in marked
    )
    return Outcome(values={"markedOverdue": len(marked)})


def _overdue(row: Row) -> InvoiceOverduePayload:
    return InvoiceOverduePayload(
        invoiceId=encode_id("Invoice", row["id"]), number=row["number"], amountDue=row["amount_due"]
    )


async def sweep_organizations(
    database: Database, *, slug: str | None = None, as_of: dt.datetime | None = None
) -> list[tuple[str, int]]:
    """Sweep one organization (by slug) or all of them, each in its own
    transaction; (slug, invoices marked) for each."""
    async with database.read() as connection:
        # The one cross-organization question, answered by a definer function (alembic 0003).
        result = await connection.exec_driver_sql("SELECT id, slug FROM bizgraph_organizations()")
        organizations = [(row.id, row.slug) for row in result]
    if slug is not None:
        organizations = [org for org in organizations if org[1] == slug]
        if not organizations:
            raise BizgraphError(f"no organization with the slug {slug!r}")
    command = SweepOverdueInvoices(as_of=as_of)
    report = []
    for org_id, org_slug in organizations:
        principal = Principal(org_id=org_id, subject=SWEEPER, roles=frozenset({"finance"}), kind="service")
        outcome = await CommandService(database, principal, PageLimits(), SWEEPER).run(
            lambda session: sweep_overdue_invoices(session, command), {}
        )
        if outcome.errors:
            raise outcome.errors[0]
        report.append((org_slug, outcome.values["markedOverdue"]))
    return report
