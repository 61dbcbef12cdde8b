"""PostgreSQL's plan of a planned read: ``EXPLAIN (FORMAT JSON)`` of the very statement, with the
very parameters, in the operation's own read-only transaction.

With ``analyze`` the statement runs once more (``EXPLAIN ANALYZE`` executes it): only reads are
explained, inside a ``READ ONLY`` transaction and under the connection's ``statement_timeout``.
An EXPLAIN that fails (a timeout, a transaction an earlier error aborted) is reported, not
raised: the plan is a diagnostic beside an answer that already stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg

from resolvers.planner.compile import Plan

if TYPE_CHECKING:  # reads.py imports this module
    from resolvers.reads import StatementRunner

EXPLAIN = "EXPLAIN (FORMAT JSON) "
EXPLAIN_ANALYZE = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "


@dataclass(frozen=True)
class Explained:
    plan: Any  # PostgreSQL's JSON plan (a list of one object), or None
    error: str | None = None


async def explain(statements: StatementRunner, plan: Plan, *, analyze: bool) -> Explained:
    prefix = EXPLAIN_ANALYZE if analyze else EXPLAIN
    try:
        return Explained(await statements.fetch_value(prefix + plan.sql, plan.params))
    except psycopg.Error as error:
        text = str(error).strip()
        return Explained(None, text.splitlines()[0] if text else type(error).__name__)
