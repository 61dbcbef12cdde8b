"""Running many operations' reads together: the re-run of every live query a change concerns.

Each operation runs as usual — the planner, the fast path or graphql-core's field functions —
but its statements do not go to the database one by one: they wait in a batch. When every
operation still running is waiting for a statement, the batch runs them: each distinct
statement text once (``multiplex.py``), whatever the number of operations that sent it, and
hands every operation its own answer. Operations whose fields read in several steps (a
nested field function after its parent) simply wait again, and the batch runs again.

So the number of statements a change costs depends on the documents and the roles of its
subscribers, not on how many there are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
import psycopg
from sqlalchemy.exc import DBAPIError

from app.db import Database
from app.replicas import Replica
from resolvers.live.multiplex import first_values, multiplexed, parameter_sets
from resolvers.live.shapes import StatementShapes, text_values
from resolvers.transaction import Mode, RequestTransaction

log = logging.getLogger("bizgraph.live")

T = TypeVar("T")

# How long a re-run waits for a read replica to replay the change that caused it before it
# reads from the primary instead (streaming on a local network replays within milliseconds).
CATCH_UP_WAIT_MS = 50


@dataclass
class _Waiting:
    sql: str
    params: dict[str, Any]
    answer: asyncio.Future[Any]
    # Run with the transaction's TimeZone set to the organization's (``Plan.zoned_sql``).
    zoned: bool = False


class BatchedStatements:
    """One operation's statements, sent to the batch (an ``OperationScope``'s statements)."""

    def __init__(self, batch: StatementBatch) -> None:
        self._batch = batch
        # The statement texts it ran: what its live query reads (``StatementShapes.tables_read``).
        self.texts: set[str] = set()

    def use(self, mode: Mode) -> None:
        """The batch decides how statements are wrapped in transactions."""

    async def fetch_value(self, sql: str, params: dict[str, Any]) -> Any:
        self.texts.add(sql)
        return await self._batch.submit(sql, params)

    async def fetch_value_in_zone(self, sql: str, params: dict[str, Any]) -> Any:
        """A statement written for the organization's zone (``Plan.zoned_sql``): the batch runs
        it, alone or multiplexed, with the transaction's TimeZone set to it (every operation of
        a batch is of one organization)."""
        self.texts.add(sql)
        return await self._batch.submit(sql, params, zoned=True)

    async def close(self) -> None:
        """Nothing of its own to end: the batch's transactions end with each round."""


@dataclass
class StatementBatch:
    database: Database
    org_id: int
    shapes: StatementShapes
    # How many statements run at once, each on a connection of its own, shared with every other
    # batch of the process (the live engine's lanes): a slow statement (a dashboard's aggregate
    # over every order) does not hold up the quick ones, and PostgreSQL's concurrency stays bounded.
    room: asyncio.Semaphore
    _waiting: list[_Waiting] = field(default_factory=list)
    _running: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Statements sent per round, for whoever counts (tests, the benchmark).
    rounds: list[int] = field(default_factory=list)
    # Where the statements go: a read replica that has replayed every change committed
    # before the re-run began (so it sees the change that caused it), or (None) the primary.
    replica: Replica | None = None

    async def run(
        self,
        operations: Sequence[Callable[[BatchedStatements], Awaitable[T]]],
        on_done: Callable[[int, T | BaseException], None] | None = None,
    ) -> list[T | BaseException]:
        """Runs the operations together; each one's result, or the exception it raised.
        ``on_done`` hears each one as soon as it is over, before the slower ones."""
        if self.database.replicas is not None:
            self.replica = await self.database.replicas.caught_up(CATCH_UP_WAIT_MS)
        tasks = [
            asyncio.create_task(self._one(index, operation, on_done)) for index, operation in enumerate(operations)
        ]
        self._running = len(tasks)
        try:
            while self._running:
                await self._wake.wait()
                self._wake.clear()
                if self._waiting and len(self._waiting) >= self._running:
                    waiting, self._waiting = self._waiting, []
                    await self._round(waiting)
            return list(await asyncio.gather(*tasks, return_exceptions=True))
        finally:
            for task in tasks:
                task.cancel()
            for left in self._waiting:
                left.answer.cancel()

    async def _one(
        self,
        index: int,
        operation: Callable[[BatchedStatements], Awaitable[T]],
        on_done: Callable[[int, T | BaseException], None] | None,
    ) -> T:
        try:
            result = await operation(BatchedStatements(self))
        except Exception as error:
            if on_done is not None:
                on_done(index, error)
            raise
        else:
            if on_done is not None:
                on_done(index, result)
            return result
        finally:
            self._running -= 1
            self._wake.set()

    async def submit(self, sql: str, params: dict[str, Any], *, zoned: bool = False) -> Any:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(sql, params, answer, zoned))
        self._wake.set()
        return await answer

    async def _round(self, waiting: list[_Waiting]) -> None:
        by_text: dict[tuple[str, bool], list[_Waiting]] = {}
        for item in waiting:
            by_text.setdefault((item.sql, item.zoned), []).append(item)
        sent = await asyncio.gather(*(self._answer_alone(sql, items) for (sql, _), items in by_text.items()))
        self.rounds.append(sum(sent))

    async def _answer_alone(self, sql: str, items: list[_Waiting]) -> int:
        """One statement text of the round, in an implicit transaction of its own (one round
        trip, no BEGIN): what it answers is committed data, as each query's own would be."""
        async with self.room:
            transaction = RequestTransaction(self.database, self.org_id, Mode.LONE_STATEMENT, replica=self.replica)
            started = asyncio.get_running_loop().time()
            try:
                return await self._answer(transaction, sql, items)
            except (psycopg.Error, DBAPIError) as error:
                # A failed statement, or no connection at all (PostgreSQL restarting): each
                # operation gets the failure as its statement's answer, as a query would.
                for item in items:
                    if not item.answer.done():
                        item.answer.set_exception(error)
                return 0
            finally:
                await transaction.close()
                log.debug(
                    "a live statement for %d operations took %.0f ms: %.120s",
                    len(items),
                    (asyncio.get_running_loop().time() - started) * 1000,
                    sql,
                )

    async def _answer(self, transaction: RequestTransaction, sql: str, items: list[_Waiting]) -> int:
        """Answers every operation waiting for ``sql``; the number of statements it took."""
        distinct: dict[str, list[_Waiting]] = {}
        for item in items:
            distinct.setdefault(repr(sorted(item.params.items())), []).append(item)
        groups = list(distinct.values())
        shape = await self.shapes.of(sql, groups[0][0].params, self.org_id)
        zoned = items[0].zoned
        if len(groups) == 1 or shape.parameter_types is None:
            fetch = transaction.fetch_value_in_zone if zoned else transaction.fetch_value
            for group in groups:
                _resolve(group, await fetch(sql, group[0].params))
            return len(groups)
        texts = [text_values(group[0].params) for group in groups]
        try:
            # The parameter sets' instants carry their offsets: the zone changes none of them.
            rows = await transaction.fetch_rows(
                multiplexed(sql, shape.parameter_types), parameter_sets(texts), zoned=zoned
            )
        except psycopg.errors.DataError:
            # A value that does not cast as the first execution's did: this statement
            # runs once per operation from now on.
            log.warning("a live statement could not be multiplexed; it runs once per group from now on")
            self.shapes.forget_parameters(sql)
            raise
        for group, value in zip(groups, first_values(rows, len(groups)), strict=True):
            _resolve(group, value)
        return 1


def _resolve(items: list[_Waiting], value: Any) -> None:
    """Each operation gets a value of its own: readers change what they receive (the fast
    path takes the policy's markers out, a stream takes out its position)."""
    for index, item in enumerate(items):
        if not item.answer.done():
            item.answer.set_result(value if index == 0 else _copy(value))


def _copy(value: Any) -> Any:
    # Statement results are JSON values (or plain scalars): a round trip through orjson is
    # an exact copy, and several times faster than copy.deepcopy.
    if isinstance(value, (dict, list)):
        return orjson.loads(orjson.dumps(value))
    return value
