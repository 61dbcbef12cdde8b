"""One exchange of a read transaction's statements with PostgreSQL, on the libpq handle under a
psycopg connection.

A read sends what its transaction needs (``BEGIN``, the organization's ``set_config``) and its
statement in one pipelined exchange ended by one Sync: one write, one round trip. psycopg's own
pipeline mode does the same through a generic command queue that re-enters the event loop per
statement; measured on this machine, a request's exchange cost about 0.2 ms of CPU that way,
against about 0.1 ms here, where the whole exchange is written at once and its results read
in one pass (psycopg's C generators do the waiting, its ``Transformer`` the dumping and loading).

Statements that come back are prepared on the server (once a connection has seen a text
``PREPARE_AFTER`` times, so one-off texts never are): later executions skip parsing and
planning. Each connection remembers at most ``MAX_PREPARED`` of them, the least recently used
being closed as new ones come. Behind a transaction pooler a prepared statement may be missing
from the next transaction's server session, so ``prepare=False`` sends unnamed statements only
(``BIZGRAPH_PREPARED_STATEMENTS``).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import abc, errors, pq
from psycopg.abc import Buffer, PQGen
from psycopg.adapt import PyFormat, Transformer
from psycopg.generators import fetch_many, send

# psycopg's named placeholders; ``%%`` is a literal percent sign.
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
_POSITIONAL = re.compile(r"%s|%%")

# A text seen this many times on a connection is prepared there.
PREPARE_AFTER = 2
# Prepared statements a connection keeps (each holds a plan in its server session).
MAX_PREPARED = 256

# How long an interrupted exchange may take to finish before its connection is given up.
RECOVERY_SECONDS = 5.0

_FATAL = (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.PIPELINE_ABORTED)
_names = itertools.count(1)


@dataclass(frozen=True)
class Converted:
    """A statement in PostgreSQL's own placeholders (``$1`` …) and its parameters' names in order."""

    query: bytes
    names: tuple[str, ...]


@lru_cache(maxsize=2048)
def converted(sql: str) -> Converted:
    """``%(name)s`` placeholders as ``$n`` (one number per name), ``%%`` as ``%``."""
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        return f"${numbers.setdefault(name, len(numbers) + 1)}"

    text = PLACEHOLDER.sub(number, sql)
    return Converted(text.encode(), tuple(numbers))


@lru_cache(maxsize=64)
def positional(sql: str) -> bytes:
    """``%s`` placeholders as ``$1``, ``$2`` … in order, ``%%`` as ``%``."""
    numbers = itertools.count(1)
    return _POSITIONAL.sub(lambda match: "%" if match.group() == "%%" else f"${next(numbers)}", sql).encode()


@dataclass
class _Prepared:
    """What one connection has prepared (by text and parameter types) and what it saw once."""

    names: OrderedDict[tuple[bytes, tuple[int, ...]], bytes] = field(default_factory=OrderedDict)
    seen: OrderedDict[tuple[bytes, tuple[int, ...]], int] = field(default_factory=OrderedDict)
    # Evicted names still to be closed on the server, with the next exchange.
    closing: list[bytes] = field(default_factory=list)


_PREPARED: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], _Prepared] = weakref.WeakKeyDictionary()


class SentStatement:
    """A statement sent on the libpq handle, as the engine's statement listeners see it (where
    a cursor would be): tracing tells concurrent statements apart by it; like a cursor, it
    names its connection when there is one to name."""

    __slots__ = ("connection",)

    def __init__(self, connection: psycopg.AsyncConnection[Any] | None = None) -> None:
        self.connection = connection


@dataclass(frozen=True)
class Statement:
    """One statement of an exchange, in psycopg's placeholders, with its parameters."""

    sql: str
    params: Mapping[str, Any] | Sequence[Any] = ()


@dataclass(frozen=True)
class _Bound:
    """A statement ready for the wire: its text, its parameters dumped, their types and formats."""

    query: bytes
    values: Sequence[Buffer | None]
    types: tuple[int, ...]
    formats: list[pq.Format] | None


async def exchange(
    connection: psycopg.AsyncConnection[Any], statements: Sequence[Statement], *, prepare: bool, answer: int = -1
) -> list[tuple[Any, ...]]:
    """Sends ``statements`` in one pipelined exchange and returns the rows of the one at index
    ``answer`` (the last by default); the first statement that fails raises its error
    (psycopg's, by SQLSTATE), the rest of the exchange having been skipped by PostgreSQL. A
    cancelled exchange leaves the connection mid-protocol (its transaction status ACTIVE): its
    owner must discard it, never pool it again."""
    pgconn = connection.pgconn
    transformer = Transformer(connection)
    # Dumped before anything is sent: a value that cannot be adapted fails with the
    # connection untouched.
    bound = [_bound(transformer, statement) for statement in statements]
    prepared = _prepared_on(connection) if prepare else None
    index = range(len(bound))[answer]  # the statement whose rows are returned
    # How many results PostgreSQL sends for each command: a statement prepared in this
    # exchange answers twice (its PREPARE, then its execution).
    answers: list[int] = []
    pgconn.enter_pipeline_mode()
    if prepared is not None:
        while prepared.closing:
            pgconn.send_close_prepared(prepared.closing.pop())
            answers.append(1)
    wanted = len(answers) + index  # that statement's place among the commands answering
    for statement in bound:
        answers.append(_send(pgconn, statement, prepared))
    pgconn.pipeline_sync()
    reading = _Reading()
    try:
        # One wait for the whole exchange: the event loop is asked to wake this only when
        # PostgreSQL has not answered yet, not once per command.
        answered = await connection.wait(_send_and_fetch(pgconn, answers, reading))
    except BaseException:
        # Cancelled (psycopg has then cancelled the statement in the server, and read on to
        # the end of what was being read) or failed: what is left of the exchange is read, so
        # the connection is fit for the pool again.
        await _recover(connection, reading)
        raise
    pgconn.exit_pipeline_mode()
    failure: pq.abc.PGresult | None = None
    last: pq.abc.PGresult | None = None
    for command, results in answered:
        result = results[-1] if results else None
        if result is None or result.status in _FATAL:
            failure = failure or result
        elif command == wanted:
            last = result  # a prepared statement's execution answers after its PREPARE
    if failure is not None:
        if prepared is not None:
            # A PREPARE of this exchange may be what failed, though ``_send`` recorded its name:
            # every name is forgotten and closed on the server (closing a name that does not
            # exist is no error), rather than risk executing one that was never prepared.
            prepared.closing.extend(prepared.names.values())
            prepared.names.clear()
        raise _error(failure, connection)
    if last is None:
        return []
    transformer.set_pgresult(last)
    rows: list[tuple[Any, ...]] = transformer.load_rows(0, last.ntuples, tuple)
    return rows


class _Reading:
    """How far an exchange's reading got: whether the Sync's answer, its last, was read."""

    __slots__ = ("synced",)

    def __init__(self) -> None:
        self.synced = False


def _send_and_fetch(
    pgconn: pq.abc.PGconn, answers: list[int], reading: _Reading
) -> PQGen[list[tuple[int, list[pq.abc.PGresult]]]]:
    """Sends what is queued, then reads every command's results (a command answering ``n``
    times is read ``n`` times) and the Sync's, which ends the exchange: psycopg's generators,
    waiting only when they must, driven by one ``connection.wait``."""
    yield from send(pgconn)
    answered: list[tuple[int, list[pq.abc.PGresult]]] = []
    for command, count in enumerate(answers):
        for _ in range(count):
            answered.append((command, (yield from fetch_many(pgconn))))
    # The Sync's answer; libpq leaves pipeline mode only once it is read.
    yield from fetch_many(pgconn)
    reading.synced = True
    return answered


def _prepared_on(connection: psycopg.AsyncConnection[Any]) -> _Prepared:
    prepared = _PREPARED.get(connection)
    if prepared is None:
        prepared = _PREPARED[connection] = _Prepared()
    return prepared


async def _recover(connection: psycopg.AsyncConnection[Any], reading: _Reading) -> None:
    """Reads what is left of an interrupted exchange, up to its Sync's answer, and leaves
    pipeline mode; a connection that does not get there in time stays mid-exchange (its
    transaction status ACTIVE), for its owner to discard."""
    pgconn = connection.pgconn
    try:
        if reading.synced and pgconn.pipeline_status != pq.PipelineStatus.OFF:
            # Read to its end already (psycopg reads on after cancelling): nothing is left.
            pgconn.exit_pipeline_mode()
        async with asyncio.timeout(RECOVERY_SECONDS):
            while pgconn.pipeline_status != pq.PipelineStatus.OFF:
                results = await connection.wait(fetch_many(pgconn))
                if results and results[-1].status == pq.ExecStatus.PIPELINE_SYNC:
                    pgconn.exit_pipeline_mode()
    except Exception:  # the connection is left as it is, for its owner to discard
        return


def _bound(transformer: abc.Transformer, statement: Statement) -> _Bound:
    if isinstance(statement.params, Mapping):
        shape = converted(statement.sql)
        values: Sequence[Any] = [statement.params[name] for name in shape.names]
        query = shape.query
    else:
        query, values = positional(statement.sql), statement.params
    if not values:
        return _Bound(query, [], (), None)
    dumped = transformer.dump_sequence(values, [PyFormat.AUTO] * len(values))
    # Set by the dump just made, for its values.
    types, formats = transformer.types or (), transformer.formats or []
    return _Bound(query, dumped, tuple(types), list(formats))


def _send(pgconn: pq.abc.PGconn, statement: _Bound, prepared: _Prepared | None) -> int:
    """Queues one statement; returns how many results it will answer with."""
    if prepared is not None:
        key = (statement.query, statement.types)
        name = prepared.names.get(key)
        if name is not None:
            prepared.names.move_to_end(key)
            pgconn.send_query_prepared(name, statement.values, param_formats=statement.formats)
            return 1
        if _seen_enough(prepared, key):
            name = f"bizgraph_{next(_names)}".encode()
            prepared.names[key] = name
            if len(prepared.names) > MAX_PREPARED:
                _, evicted = prepared.names.popitem(last=False)
                prepared.closing.append(evicted)
            pgconn.send_prepare(name, statement.query, param_types=statement.types)
            pgconn.send_query_prepared(name, statement.values, param_formats=statement.formats)
            return 2
    pgconn.send_query_params(
        statement.query, statement.values, param_types=statement.types, param_formats=statement.formats
    )
    return 1


def _seen_enough(prepared: _Prepared, key: tuple[bytes, tuple[int, ...]]) -> bool:
    count = prepared.seen.pop(key, 0) + 1
    if count >= PREPARE_AFTER:
        return True
    prepared.seen[key] = count
    if len(prepared.seen) > MAX_PREPARED:
        prepared.seen.popitem(last=False)
    return False


def _error(result: pq.abc.PGresult | None, connection: psycopg.AsyncConnection[Any]) -> psycopg.Error:
    if result is None or result.status == pq.ExecStatus.PIPELINE_ABORTED:
        return psycopg.OperationalError("the statement's exchange ended without an answer")
    return errors.error_from_result(result, encoding=connection.info.encoding)
