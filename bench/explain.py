"""How long PostgreSQL itself spends on bizgraph's SQL versus the floor's (EXPLAIN ANALYZE).

This splits a gap between bizgraph and its floor into "the generated SQL is
slower" and "the time goes elsewhere" (Python, HTTP, round trips).
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.floor import SESSION

RUNS = 5  # median of a few runs: the first one may read cold pages


@dataclass
class Timing:
    execution_ms: float
    planning_ms: float
    plan: str  # text plan of the last run, for --show-plans


def explain(dsn: str, sql: str, params: Any, org_id: int | None = None) -> Timing:
    """``org_id``: run as the server does, as its database role under row-level security
    with ``bizgraph.org_id`` set (whose policy adds a predicate to every table); else as ``dsn``'s user."""
    executions, plannings = [], []
    with psycopg.connect(dsn, **SESSION) as conn:
        if org_id is not None:
            conn.execute(f"SET ROLE {os.environ.get('BIZGRAPH_DB_ROLE') or 'bizgraph_app'}")
            conn.execute("SELECT set_config('bizgraph.org_id', %s, false)", (str(org_id),))
        for _ in range(RUNS):
            row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params).fetchone()
            document = row[0][0]
            executions.append(document["Execution Time"])
            plannings.append(document["Planning Time"])
        text = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params))
    return Timing(statistics.median(executions), statistics.median(plannings), text)


def explain_statements(dsn: str, statements: list[tuple[str, Any]], org_id: int | None = None) -> Timing | None:
    """The sum over a request's statements (bizgraph runs one per root field)."""
    timings = [
        explain(dsn, sql, params, org_id) for sql, params in statements if sql.lstrip().upper().startswith("SELECT")
    ]
    if not timings:
        return None
    return Timing(
        sum(t.execution_ms for t in timings),
        sum(t.planning_ms for t in timings),
        "\n\n".join(t.plan for t in timings),
    )
