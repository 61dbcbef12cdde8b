"""What one GraphQL request did, gathered while it runs, for its metrics and its log line.

The view opens a record when the request arrives and closes it once answered; everything
between (the pipeline, the engine's statement listener) adds to the record of the request
it runs for, found through a context variable. Tasks a request starts copy the context, so
their statements count for the request too; work of no request (live re-runs, the worker)
finds no record and counts nowhere.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from app.tracing import RequestTrace, database_attributes

# Statements kept for the slow-query log: enough to see the plan, never a request's whole trace.
MAX_KEPT_STATEMENTS = 20
MAX_STATEMENT_CHARS = 4_000


@dataclass
class RequestRecord:
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    transport: str = "http"
    operation_name: str | None = None
    operation_type: str = "unknown"
    subject: str | None = None
    roles: tuple[str, ...] = ()
    statements: int = 0
    # Statement texts (parameterized: values travel apart), kept for the slow-query log.
    sql: list[str] = field(default_factory=list)
    keep_sql: bool = False
    cost: int | None = None
    fast_path: bool | None = None
    rate_limited: bool = False
    error_codes: list[str] = field(default_factory=list)
    has_data: bool = False
    status: int = 200
    variables: Any = None
    # A request for an operation (not the GraphiQL page the same route serves).
    graphql: bool = False
    # Its spans, when traces are on and it was sampled (app/tracing); None otherwise.
    trace: RequestTrace | None = None
    # The document that ran (a stored one's text filled in), kept only for a trace's hash.
    document: str | None = None
    # A query or mutation over a socket that ended before it answered (the client completed
    # it, or the socket closed).
    cancelled: bool = False

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def outcome(self) -> str:
        """ok: no errors; partial: data with field errors; refused: a request error, nothing
        ran (validation, limits, cost, rate limit, policy); failed: the server failed (5xx);
        cancelled: a socket's query or mutation ended before its answer."""
        if self.cancelled:
            return "cancelled"
        if self.status >= 500:
            return "failed"
        if not self.error_codes:
            return "ok" if self.status < 400 else "refused"
        return "partial" if self.has_data else "refused"


current: ContextVar[RequestRecord | None] = ContextVar("bizgraph_request_record", default=None)


def count_statements(engine: AsyncEngine, *, traced: bool = False) -> None:
    """Counts every statement the engine sends for the request that sends it (the engine's
    ``before_cursor_execute``, which pipeline-mode statements report to as well:
    ``resolvers/transaction.py``). ``traced``: a sampled request also gets a span per statement,
    from there to ``after_cursor_execute`` (or the engine's ``handle_error``)."""
    database = database_attributes(engine.url) if traced else {}

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        record = current.get()
        if record is None:
            return
        record.statements += 1
        if record.keep_sql and len(record.sql) < MAX_KEPT_STATEMENTS:
            record.sql.append(statement[:MAX_STATEMENT_CHARS])
        if record.trace is not None:
            # The text only: the parameters travel apart and never go into a span.
            record.trace.statement_started(id(cursor), statement, database)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    if not traced:
        return

    def answered(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        record = current.get()
        if record is not None and record.trace is not None:
            record.trace.statement_finished(id(cursor))

    def failed(context: ExceptionContext) -> None:
        record = current.get()
        if record is not None and record.trace is not None and context.cursor is not None:
            record.trace.statement_failed(id(context.cursor), context.original_exception)

    event.listen(engine.sync_engine, "after_cursor_execute", answered)
    event.listen(engine.sync_engine, "handle_error", failed)
