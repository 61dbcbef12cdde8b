"""The process's one ``LISTEN`` connection: committed changes in, ``Change``s out to the sinks.

A dedicated psycopg connection (autocommit, never from the pool: a LISTEN would
outlive a pooled connection's return, and ``notifies()`` holds the connection's
lock while it waits) is pumped by one task. When the connection is lost (a
PostgreSQL restart, a terminated backend, the network) the task reconnects with
exponential backoff and jitter, and once listening again tells every sink
``resynced()``: whatever was committed while nobody listened was never announced
to this process, so everything that depends on changes must be read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from psycopg import sql

from app.config import Settings, libpq_conninfo
from app.errors import ConfigError
from app.live.changes import CHANNEL, Change, ChangeSink

log = logging.getLogger("bizgraph.live.listener")

# Seen in pg_stat_activity: operators (and tests) can tell the listener from the pool.
APPLICATION_NAME = "bizgraph-listener"


@dataclass(frozen=True)
class Backoff:
    """Waits between reconnection attempts: ``initial`` doubling up to ``cap``, each one
    drawn uniformly from its upper half so that processes cut off together do not
    all knock again at the same instant."""

    initial: float = 0.05
    cap: float = 5.0

    def delay(self, failures: int) -> float:
        ceiling = min(self.cap, self.initial * 2 ** max(0, failures - 1))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Keepalive:
    """TCP keepalives, so that a connection whose peer vanished without a word (a
    host gone, a NAT that forgot it) is noticed although a listener never sends:
    probes start after ``idle`` seconds of silence, every ``interval`` seconds,
    and ``count`` unanswered ones end it (about 25 s with the defaults)."""

    idle: int = 10
    interval: int = 5
    count: int = 3

    def connect_options(self) -> dict[str, Any]:
        return {
            "keepalives": 1,
            "keepalives_idle": self.idle,
            "keepalives_interval": self.interval,
            "keepalives_count": self.count,
            # Data sent but never acknowledged ends the connection within the same time.
            "tcp_user_timeout": (self.idle + self.interval * self.count) * 1000,
        }


def parse_change(payload: str) -> Change | None:
    """The ``Change`` a ``bizgraph_changes`` payload announces (alembic 0008), or None
    when the payload is not one: anyone may NOTIFY the channel."""
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict):
        return None
    org, tables = message.get("org"), message.get("tables")
    if org is not None and (not isinstance(org, int) or isinstance(org, bool)):
        return None
    if not isinstance(tables, list) or not tables or not all(isinstance(name, str) and name for name in tables):
        return None
    customers, managers = _ids(message.get("customers")), _ids(message.get("managers"))
    if customers is None or managers is None:
        # Anchors come in pairs (alembic 0009); without both, nobody can be left out.
        customers = managers = None
    return Change(org, frozenset(tables), customers, managers)


def _ids(value: object) -> frozenset[int] | None:
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        return None
    return frozenset(value)


class ChangeListener:
    """Hands every committed change announced on ``CHANNEL`` to the registered sinks.

    ``start()`` listens before it returns (and raises ``ConfigError`` when it cannot,
    so a misconfigured URL stops the start); from then on a lost connection is
    re-established in the background until ``stop()``."""

    def __init__(
        self,
        conninfo: str,
        *,
        backoff: Backoff = Backoff(),
        keepalive: Keepalive = Keepalive(),
        connect_timeout_seconds: int = 5,
        described_as: str = "the change feed's database",
    ) -> None:
        self._conninfo = conninfo
        self._backoff = backoff
        self._connect_options: dict[str, Any] = {
            "autocommit": True,
            "application_name": APPLICATION_NAME,
            "connect_timeout": connect_timeout_seconds,
            **keepalive.connect_options(),
        }
        self._described_as = described_as
        self._sinks: list[ChangeSink] = []
        self._task: asyncio.Task[None] | None = None
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._listening = False

    @property
    def listening(self) -> bool:
        """True while the connection is up and LISTENing (changes are being heard)."""
        return self._listening

    def add_sink(self, sink: ChangeSink) -> None:
        self._sinks.append(sink)

    def remove_sink(self, sink: ChangeSink) -> None:
        with contextlib.suppress(ValueError):
            self._sinks.remove(sink)

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the change listener is already started")
        try:
            await self._listen()
        except (psycopg.Error, OSError) as error:
            await self._hang_up()
            raise ConfigError(f"could not LISTEN {CHANNEL} through {self._described_as}: {_last_line(error)}") from None
        self._task = asyncio.create_task(self._run(), name="bizgraph change listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # A task cancelled before it ever ran never reached its own clean-up.
        await self._hang_up()

    async def _listen(self) -> None:
        connection = await psycopg.AsyncConnection.connect(self._conninfo, **self._connect_options)
        self._connection = connection
        await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        self._listening = True

    async def _hang_up(self) -> None:
        self._listening = False
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _run(self) -> None:
        while True:
            try:
                assert self._connection is not None  # start() and _reconnect() leave one listening
                await self._pump(self._connection)
            except (psycopg.Error, OSError) as error:
                log.warning("change feed: the listening connection was lost: %s", _last_line(error))
            except Exception:
                # A bug, not an outage: a fresh connection may still serve, so carry on.
                log.exception("change feed: the listening connection failed")
            finally:
                await self._hang_up()
            await self._reconnect()
            self._resync()

    async def _pump(self, connection: psycopg.AsyncConnection[Any]) -> None:
        # ``notifies()`` ends only by raising (the connection is lost) or by being cancelled.
        async with contextlib.aclosing(connection.notifies()) as notifications:
            async for notification in notifications:
                self._deliver(notification.payload)

    async def _reconnect(self) -> None:
        failures = 0
        while True:
            failures += 1
            await asyncio.sleep(self._backoff.delay(failures))
            try:
                await self._listen()
            except (psycopg.Error, OSError) as error:
                await self._hang_up()
                log.warning("change feed: reconnecting (attempt %d) failed: %s", failures, _last_line(error))
                continue
            log.info("change feed: listening again after %d attempt(s)", failures)
            return

    def _deliver(self, payload: str) -> None:
        change = parse_change(payload)
        if change is None:
            log.warning("change feed: ignored a malformed notification on %s: %.200r", CHANNEL, payload)
            return
        self._each_sink(lambda sink: sink.changed(change))

    def _resync(self) -> None:
        self._each_sink(lambda sink: sink.resynced())

    def _each_sink(self, call: Callable[[ChangeSink], None]) -> None:
        # A copy: a sink may add or remove sinks while it is called.
        for sink in tuple(self._sinks):
            try:
                call(sink)
            except Exception:
                # One faulty sink must not deafen the others or stop the feed.
                log.exception("change feed: a sink failed")


def _last_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[-1].strip() if lines else type(error).__name__


def listener_for(settings: Settings) -> ChangeListener:
    """The server's listener: on ``BIZGRAPH_LISTEN_DATABASE_URL``, else ``DATABASE_URL``."""
    if settings.listen_database_url is not None:
        return ChangeListener(libpq_conninfo(settings.listen_database_url), described_as="BIZGRAPH_LISTEN_DATABASE_URL")
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set")
    return ChangeListener(libpq_conninfo(settings.database_url), described_as="DATABASE_URL")
