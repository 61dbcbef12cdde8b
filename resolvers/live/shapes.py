"""What PostgreSQL says of one planned statement: its parameters' types and the tables it
reads. Asked once per statement text (a plan is the same text for every principal of the
same roles and every value of the variables; only its parameters differ), and kept.

The tables are how a live query knows which changes concern it: they are read from the
statement's generic plan, so they include everything the planner put in it — nested
relations, the row scopes' subqueries, the joins of aggregates — and nothing is listed by
hand. The parameter types are what lets many executions of the statement become one
(``multiplex.py``): each parameter is taken from a JSON row and cast to the type
PostgreSQL resolved for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import TransactionStatus
from sqlalchemy.exc import DBAPIError

from app.db import Database, driver_connection
from resolvers.wire import PLACEHOLDER

log = logging.getLogger("bizgraph.live")


_names = itertools.count()

_BIGINT = 20
_NARROW_INTEGERS = frozenset({21, 23})  # smallint, integer


@dataclass(frozen=True)
class StatementShape:
    # Parameter name → the type PostgreSQL resolved for it (as SQL spells it), in the order
    # of first use; None when the statement could not be described (it is then never
    # multiplexed, and every change of its organization concerns it).
    parameter_types: Mapping[str, str] | None
    # Every table the statement reads; None when unknown.
    tables: frozenset[str] | None


UNKNOWN = StatementShape(None, None)


def parameter_names(sql: str) -> list[str]:
    """The statement's parameters in the order of their first use."""
    names: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(sql):
        if match.group(1) is not None:
            names.setdefault(match.group(1), None)
    return list(names)


def text_values(params: Mapping[str, Any]) -> dict[str, str | None]:
    """Each parameter as PostgreSQL's text input for its type (what psycopg sends in text
    format), None for NULL. The planner's parameters are plain values (numbers, text,
    times, lists of them), dumped the same by every connection."""
    transformer = Transformer()
    texts: dict[str, str | None] = {}
    for name, value in params.items():
        if value is None:
            texts[name] = None
            continue
        dumped = transformer.get_dumper(value, PyFormat.TEXT).dump(value)
        texts[name] = None if dumped is None else bytes(dumped).decode()
    return texts


class StatementShapes:
    """The shapes of the statements seen so far, at most ``capacity`` of them (least recently
    used first out); each described once even when asked for concurrently."""

    def __init__(self, database: Database, capacity: int = 2048) -> None:
        self._database = database
        self._capacity = capacity
        self._known: OrderedDict[str, StatementShape] = OrderedDict()
        self._pending: dict[str, asyncio.Future[StatementShape]] = {}

    def known(self, sql: str) -> StatementShape | None:
        shape = self._known.get(sql)
        if shape is not None:
            self._known.move_to_end(sql)
        return shape

    def tables_read(self, statements: Iterator[str] | set[str]) -> frozenset[str] | None:
        """Everything the statements read, None when any of them is unknown."""
        tables: set[str] = set()
        for sql in statements:
            shape = self.known(sql)
            if shape is None or shape.tables is None:
                return None
            tables |= shape.tables
        return frozenset(tables)

    def forget_parameters(self, sql: str) -> None:
        """The statement failed when multiplexed: from now on it runs once per operation."""
        shape = self._known.get(sql)
        if shape is not None:
            self._known[sql] = StatementShape(None, shape.tables)

    async def of(self, sql: str, params: Mapping[str, Any], org_id: int) -> StatementShape:
        shape = self.known(sql)
        if shape is not None:
            return shape
        pending = self._pending.get(sql)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[StatementShape] = asyncio.get_running_loop().create_future()
        self._pending[sql] = future
        remember = True
        try:
            shape = await self._describe_on_a_live_connection(sql, params, org_id)
        except (_ConnectionLost, DBAPIError) as error:
            # No connection to ask (PostgreSQL restarting): this round runs the statement once
            # per operation, and a later one asks again; nothing is said of the statement.
            log.warning("could not describe a live statement now: %s", error.__cause__ or error)
            shape, remember = UNKNOWN, False
        except (psycopg.Error, OSError) as error:
            # A statement PostgreSQL cannot describe still runs, once per operation, and
            # is re-run on every change of its organization.
            log.warning("could not describe a live statement: %s", error)
            shape = UNKNOWN
        finally:
            del self._pending[sql]
        future.set_result(shape)
        if not remember:
            return shape
        self._known[sql] = shape
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)
        return shape

    async def _describe_on_a_live_connection(self, sql: str, params: Mapping[str, Any], org_id: int) -> StatementShape:
        """After a database restart every pooled connection is dead (no ping per checkout):
        each one found dead is discarded and the next tried, at most the pool's worth."""
        for attempts_left in range(self._database.pool_size, -1, -1):
            try:
                return await self._describe(sql, params, org_id)
            except _ConnectionLost:
                if attempts_left == 0:
                    raise
        raise AssertionError("unreachable")

    async def _describe(self, sql: str, params: Mapping[str, Any], org_id: int) -> StatementShape:
        names = parameter_names(sql)
        statement = f"bizgraph_shape_{next(_names)}"
        async with self._database.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            driver = await driver_connection(connection)
            try:
                declared = await _declared_types(driver, names, params)
                prepared = False
                await driver.execute("BEGIN READ ONLY")
                try:
                    await driver.execute(self._database.organization_statement, (str(org_id),))
                    # A generic plan: what the statement reads whatever its parameters' values.
                    await driver.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                    types = f" ({', '.join(declared)})" if declared else ""
                    await driver.execute(f"PREPARE {statement}{types} AS {_numbered(sql, names)}")
                    prepared = True
                    cursor = await driver.execute(
                        "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = %s", (statement,)
                    )
                    row = await cursor.fetchone()
                    resolved: list[str] = list(row[0]) if row is not None else []
                    arguments = f"({', '.join('NULL' for _ in names)})" if names else ""
                    cursor = await driver.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {statement}{arguments}")
                    plan = await cursor.fetchone()
                finally:
                    # A prepared statement outlives its transaction: it must not stay on a pooled
                    # connection. It goes before the ROLLBACK, which makes psycopg forget (and
                    # deallocate) every statement prepared on the connection, ours included.
                    if prepared and driver.info.transaction_status == TransactionStatus.INTRANS:
                        await driver.execute(f"DEALLOCATE {statement}")
                        prepared = False
                    await driver.execute("ROLLBACK")
                    if prepared:
                        with contextlib.suppress(psycopg.errors.InvalidSqlStatementName):
                            await driver.execute(f"DEALLOCATE {statement}")
            except BaseException as error:
                await connection.invalidate()
                if isinstance(error, psycopg.OperationalError) and driver.broken:
                    raise _ConnectionLost() from error
                raise
        tables = frozenset(_relations(plan[0] if plan is not None else None))
        return StatementShape(dict(zip(names, resolved, strict=True)), tables)


class _ConnectionLost(Exception):
    """The pooled connection a description was asked on had died (it is discarded)."""


async def _declared_types(
    driver: psycopg.AsyncConnection[Any], names: list[str], params: Mapping[str, Any]
) -> list[str]:
    """The types psycopg sends the parameters with (``unknown`` for text and NULL, which
    PostgreSQL infers from where they are used), as SQL spells them."""
    transformer = Transformer(driver)
    oids: list[int] = []
    for name in names:
        value = params.get(name)
        oid = 0 if value is None else transformer.get_dumper(value, PyFormat.AUTO).oid
        # psycopg sends an int as the smallest integer type that holds it; the next
        # execution's value may not fit that one, so every integer is declared bigint.
        oids.append(_BIGINT if oid in _NARROW_INTEGERS else oid)
    wanted = sorted({oid for oid in oids if oid})
    spelled: dict[int, str] = {}
    if wanted:
        cursor = await driver.execute(
            "SELECT oid::int, format_type(oid, NULL) FROM pg_type WHERE oid = ANY(%s)", (wanted,)
        )
        spelled = dict(await cursor.fetchall())
    return [spelled.get(oid, "unknown") for oid in oids]


def _numbered(sql: str, names: list[str]) -> str:
    """The statement with PostgreSQL's own placeholders ($1 …) instead of psycopg's."""
    numbers = {name: index for index, name in enumerate(names, start=1)}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return "%" if name is None else f"${numbers[name]}"

    return PLACEHOLDER.sub(replace, sql)


def _relations(node: Any) -> Iterator[str]:
    """Every relation an EXPLAIN (FORMAT JSON) plan scans, at any depth (subplans, CTEs, init plans)."""
    if isinstance(node, list):
        for item in node:
            yield from _relations(item)
    elif isinstance(node, dict):
        name = node.get("Relation Name")
        if isinstance(name, str):
            yield name
        for value in node.values():
            if isinstance(value, (list, dict)):
                yield from _relations(value)
