"""The connections requests' read transactions run on (``resolvers/transaction.py``).

Reads take a psycopg connection, run one pipelined exchange and give it back: the pool's own
cost is on every request's path, so it is kept to a list operation each way. Measured on this
project's Q1 (one customer by id), checking a connection out of SQLAlchemy's pool and back,
with its greenlet bridge and per-checkout isolation setting, cost about 0.2 ms of CPU, a
quarter of the whole request; this pool costs a few microseconds.

What it promises, and why it is not a general-purpose pool:

- **First come, first served.** Waiters queue in arrival order and a returned connection is
  handed straight to the oldest one, so under load no request waits behind later ones (a
  tail-latency promise: p99 follows the queue, not luck).
- **Connections are opened by the request that needs one,** in its own task, when the pool
  is below its size. A database that is down or refuses the role fails that request at once
  (a 503 answer, ``DATABASE_UNAVAILABLE``) instead of leaving it to wait for a background
  reconnection; when the database is back the next request simply connects. A refusal while
  the pool still holds other connections (PostgreSQL's ``max_connections`` reached by other
  clients) makes the request wait for one of those instead: under load it gets an answer.
- **A connection that is broken, closed, or not idle is never pooled again.** The caller
  rolls back what it opened; anything still mid-exchange is closed, its slot freed and
  the oldest waiter told to open a fresh one.
- **Warm connections first.** Idle connections are reused last-in, first-out, so a quiet
  period leaves the recently used ones (with their prepared statements) in service.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy.ext.asyncio import AsyncEngine


class PoolTimeout(psycopg.OperationalError):
    """No connection became free within the pool's timeout."""


class PoolClosed(psycopg.OperationalError):
    """The pool was closed (the server is shutting down)."""


@dataclass(frozen=True)
class PoolStats:
    size: int  # the most connections it holds
    opened: int  # connections open or being opened
    in_use: int  # checked out by a transaction
    waiting: int  # transactions queued for one
    checkouts: int  # cumulative
    returns: int  # cumulative: given back to be reused
    discards: int  # cumulative: closed instead (broken, mid-exchange, or the pool closing)
    wait_seconds: float  # cumulative time spent checking out


class ConnectionPool:
    @classmethod
    def beside(cls, engine: AsyncEngine, connect_args: dict[str, Any], *, size: int) -> ConnectionPool:
        """A pool to the database ``engine`` connects to, connecting the same way (the URL's
        parameters, the startup options, the adapters SQLAlchemy's dialect registers)."""
        _, params = engine.dialect.create_connect_args(engine.url)
        return cls({**params, **connect_args}, size=size)

    def __init__(self, connect_kwargs: dict[str, Any], *, size: int, timeout: float = 30.0) -> None:
        if size < 1:
            raise ValueError("a connection pool holds at least one connection")
        # Everything psycopg.AsyncConnection.connect takes; autocommit because each
        # transaction is spelled out by its user (BEGIN, or a lone statement's implicit one).
        self._connect_kwargs = {**connect_kwargs, "autocommit": True}
        self._size = size
        self._timeout = timeout
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        # Each waiter's future resolves to a connection handed over, or to None: a slot
        # freed up, so the waiter opens a connection itself; beside it, when it gives up.
        self._waiters: collections.deque[tuple[asyncio.Future[psycopg.AsyncConnection[Any] | None], float]] = (
            collections.deque()
        )
        # One timer for every waiter's deadline, set for the earliest (a timer per waiter cost
        # more than the rest of a wait: under load most requests wait a moment).
        self._expiry: asyncio.TimerHandle | None = None
        self._expiry_at = 0.0
        self._opened = 0
        self._in_use = 0
        self._closed = False
        self.checkouts = 0
        self.returns = 0
        self.discards = 0
        self.wait_seconds = 0.0

    @property
    def stats(self) -> PoolStats:
        return PoolStats(
            self._size,
            self._opened,
            self._in_use,
            len(self._waiters),
            self.checkouts,
            self.returns,
            self.discards,
            self.wait_seconds,
        )

    async def acquire(self) -> psycopg.AsyncConnection[Any]:
        """An idle connection, a new one, or the next one given back (in arrival order)."""
        started = time.perf_counter()
        try:
            connection = await self._take()
        finally:
            self.wait_seconds += time.perf_counter() - started
        self.checkouts += 1
        self._in_use += 1
        return connection

    async def _take(self) -> psycopg.AsyncConnection[Any]:
        deadline = asyncio.get_running_loop().time() + self._timeout
        while True:
            if self._closed:
                raise PoolClosed("the connection pool is closed")
            # Someone queued first: joining the queue keeps the order fair.
            if not self._waiters:
                while self._idle:
                    connection = self._idle.pop()
                    if _reusable(connection):
                        return connection
                    await self._drop(connection)
                if self._opened < self._size and (opened := await self._open()) is not None:
                    return opened
            handed = await self._wait(deadline)
            if handed is not None:
                return handed
            if self._opened < self._size and (opened := await self._open()) is not None:
                return opened

    async def _wait(self, deadline: float) -> psycopg.AsyncConnection[Any] | None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[psycopg.AsyncConnection[Any] | None] = loop.create_future()
        self._waiters.append((waiter, deadline))
        if self._expiry is None or deadline < self._expiry_at:
            self._arm(loop, deadline)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled (or timed out) just after a connection was handed over: it goes
            # back, not astray.
            if waiter.done() and not waiter.cancelled():
                handed = waiter.result()
                if handed is not None:
                    self._in_use += 1
                    await self.release(handed)
                else:
                    self._pass_on(None)
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            # A waiter handed a result (or closed out) was taken off the queue by whoever
            # handed it: only a cancelled one may still be queued. (Looking for the others
            # anyway is costly: the miss's ValueError spells out the future, connection and all.)
            if waiter.cancelled():
                for entry in self._waiters:
                    if entry[0] is waiter:
                        self._waiters.remove(entry)
                        break

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry, self._expiry_at = loop.call_at(at, self._expire), at

    def _expire(self) -> None:
        """Refuses the waiters whose deadline passed (PoolTimeout); set again for the next."""
        self._expiry = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        waiting: collections.deque[tuple[asyncio.Future[psycopg.AsyncConnection[Any] | None], float]] = (
            collections.deque()
        )
        for waiter, deadline in self._waiters:
            if waiter.done():
                continue
            if deadline <= now:
                waiter.set_exception(
                    PoolTimeout(f"no database connection became free within {self._timeout:g} s ({self._size} in use)")
                )
            else:
                waiting.append((waiter, deadline))
        self._waiters = waiting
        if waiting:
            self._arm(loop, min(deadline for _, deadline in waiting))

    async def _open(self) -> psycopg.AsyncConnection[Any] | None:
        """A new connection; None when PostgreSQL refused it while this pool still holds
        others (its ``max_connections`` reached, say): the caller waits for one of those
        instead of failing. With none left to wait for, the refusal is the caller's error."""
        self._opened += 1
        try:
            return await psycopg.AsyncConnection.connect(**self._connect_kwargs)
        except psycopg.OperationalError:
            self._opened -= 1
            if self._opened > 0:
                return None
            self._pass_on(None)
            raise
        except BaseException:
            self._opened -= 1
            # The slot is free again: the next waiter may try (and learn for itself).
            self._pass_on(None)
            raise

    async def release(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """Gives a connection back: to the oldest waiter, else to the idle list; closed when
        it cannot be reused (broken, closed, or left inside a transaction)."""
        self._in_use -= 1
        if self._closed or not _reusable(connection):
            self.discards += 1
            await self._drop(connection)
            return
        self.returns += 1
        if not self._pass_on(connection):
            self._idle.append(connection)

    async def discard(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """Closes a checked-out connection whose state is unknown; its slot is freed."""
        self._in_use -= 1
        self.discards += 1
        await self._drop(connection)

    async def drop_idle(self) -> None:
        """Closes the idle connections (their server went away); later ones open afresh."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await self._drop(connection)

    async def close(self) -> None:
        """Closes the idle connections; those in use are closed as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await self._drop(connection)
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        while self._waiters:
            waiter, _ = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed("the connection pool is closed"))

    def _pass_on(self, connection: psycopg.AsyncConnection[Any] | None) -> bool:
        """Hands ``connection`` (or, None, a free slot) to the oldest live waiter."""
        while self._waiters:
            waiter, _ = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    async def _drop(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._opened -= 1
        try:
            await connection.close()
        finally:
            self._pass_on(None)


def _reusable(connection: psycopg.AsyncConnection[Any]) -> bool:
    if connection.closed or connection.broken:
        return False
    # libpq's own status, read straight: ``connection.info`` builds an object and an enum per read.
    return connection.pgconn.transaction_status == TransactionStatus.IDLE
