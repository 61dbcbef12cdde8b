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

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import Database
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
    # Exchanges with PostgreSQL: a pipeline of several statements is one (``count_round_trips``).
    round_trips: int = 0
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


def count_round_trips(database: Database) -> None:
    """Counts the round trips to PostgreSQL each request makes: what the client sends before it
    hears back is one, however many statements it holds.

    Queries' reads report their exchanges themselves (``resolvers/transaction.py``: the
    pipelined organization and statement, each later statement of a snapshot, its end), as does
    the unit of work's pipelined BEGIN and organization (``app/db.py``). On the engine's
    connections each statement is one, plus the BEGIN psycopg sends first when the statement
    opens a transaction, plus the COMMIT or ROLLBACK that ends one."""

    def exchanged(count: int) -> None:
        record = current.get()
        if record is not None:
            record.round_trips += count

    database.round_trip_listeners.append(exchanged)
    engine = database.engine.sync_engine

    def statement(conn: Any, cursor: Any, text: str, parameters: Any, context: Any, executemany: bool) -> None:
        record = current.get()
        # Reads' statements reach the listeners without a connection: they counted themselves.
        if record is None or conn is None:
            return
        driver = _driver_of(conn)
        opens = driver is not None and not driver.autocommit and _idle(driver)
        record.round_trips += 2 if opens else 1

    def ended(conn: Any) -> None:
        record = current.get()
        if record is None:
            return
        driver = _driver_of(conn)
        if driver is not None and not _idle(driver):
            record.round_trips += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)


def _driver_of(conn: Any) -> psycopg.AsyncConnection[Any] | None:
    """The psycopg connection under a SQLAlchemy one (None once it was given back, or when it
    was invalidated: a connection that failed sends nothing more)."""
    try:
        fairy = getattr(conn, "connection", None)
    except SQLAlchemyError:
        return None
    driver = getattr(fairy, "driver_connection", None) if fairy is not None else None
    return driver if isinstance(driver, psycopg.AsyncConnection) else None


def _idle(driver: psycopg.AsyncConnection[Any]) -> bool:
    return driver.info.transaction_status == TransactionStatus.IDLE


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
