"""Read replicas: streaming standbys of the primary that answer queries and live-query re-runs.

A replica serves a read only when it is known to be good enough for it, and what is known comes
from a check that runs in the background every ``BIZGRAPH_REPLICA_CHECK_MS`` (never per request):
one statement on the primary (its WAL position, ``pg_current_wal_lsn()``) and one on each replica
(``pg_is_in_recovery()``, the position it has replayed, ``pg_last_wal_replay_lsn()``). A replica
is *usable* while it answers, is still a standby, and lags no more than
``BIZGRAPH_REPLICA_MAX_LAG_MS``. The lag is a time: how long ago the primary was first seen past
the position the replica has replayed (zero when it has replayed all the primary had written). An
idle primary lags nobody, and a replica whose replay is paused starts lagging with the primary's
first write after the pause.

Reading one's own writes: a client that wrote carries the position of its write's commit
(``WAL position``, kept as an integer), and may read from a replica only once the replica had
replayed past it at the latest check; otherwise it reads from the primary.

A replica that cannot be reached between two checks is found out by the read that tried it, which
marks it down at once and goes on with the primary (``failed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.connection_pool import ConnectionPool

log = logging.getLogger("bizgraph.replicas")

_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


def parse_lsn(text: str) -> int | None:
    """A WAL position as PostgreSQL spells it (``16/B374D848``), as an integer; None when it is not one."""
    match = _LSN.match(text.strip())
    if match is None:
        return None
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


@dataclass(eq=False)
class Replica:
    """One replica, as the latest check found it."""

    name: str
    engine: AsyncEngine
    # Where requests' reads take their connections (``resolvers/transaction.py``).
    pool: ConnectionPool
    # The WAL position it had replayed at the latest check (None: unknown, never reached).
    replayed: int | None = None
    up: bool = False
    lag_ms: float = 0.0
    usable: bool = False
    checked: bool = False


@dataclass
class _Samples:
    """The primary's WAL positions at the latest checks, oldest first, as (time, position)."""

    keep_seconds: float
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, now: float, position: int) -> None:
        if not self.samples or self.samples[-1][1] != position:
            self.samples.append((now, position))
        while len(self.samples) > 1 and self.samples[1][0] < now - self.keep_seconds:
            self.samples.popleft()

    def lag_ms(self, now: float, replayed: int) -> float:
        """How long ago the primary was first seen past ``replayed`` (0: not past it)."""
        for seen_at, position in self.samples:
            if position > replayed:
                return (now - seen_at) * 1000
        return 0.0

    @property
    def latest(self) -> int | None:
        return self.samples[-1][1] if self.samples else None


class ReplicaSet:
    """The replicas of one process and what it knows of them."""

    def __init__(
        self,
        primary: AsyncEngine,
        urls: Sequence[URL],
        engine_options: dict[str, Any],
        *,
        max_lag_ms: int,
        check_ms: int,
        pool_size: int,
    ) -> None:
        self._primary = primary
        self.replicas = [self._replica(url, engine_options, pool_size) for url in urls]
        self.max_lag_ms = max_lag_ms
        self._every = check_ms / 1000
        # Samples older than the bound cannot change a verdict: past it, a replica is out anyway.
        self._samples = _Samples(keep_seconds=max(1.0, 2 * max_lag_ms / 1000))
        self._turn = itertools.count()
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _replica(url: URL, engine_options: dict[str, Any], pool_size: int) -> Replica:
        engine = create_async_engine(url, **engine_options)
        pool = ConnectionPool.beside(engine, engine_options["connect_args"], size=pool_size)
        return Replica(f"{url.host}:{url.port or 5432}/{url.database}", engine, pool)

    async def start(self) -> None:
        """Checks every replica once (so the first requests may use them), then keeps checking."""
        await self.check()
        self._task = asyncio.create_task(self._keep_checking(), name="bizgraph replica check")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for replica in self.replicas:
            await replica.pool.close()
            await replica.engine.dispose()

    def choose(self, after: int | None) -> Replica | None:
        """A usable replica that had replayed past ``after`` (None: any) at the latest check, taking
        turns among them; None when there is none (read from the primary)."""
        candidates = [
            r for r in self.replicas if r.usable and (after is None or (r.replayed is not None and r.replayed >= after))
        ]
        if not candidates:
            return None
        return candidates[next(self._turn) % len(candidates)]

    def failed(self, replica: Replica, error: BaseException) -> None:
        """A read could not reach ``replica``: it is out until a check finds it again."""
        if replica.usable:
            log.warning("replica %s failed a read, reading from the primary: %s", replica.name, _last_line(error))
        replica.up = replica.usable = False

    async def caught_up(self, wait_ms: float) -> Replica | None:
        """A usable replica that has replayed everything the primary has committed by now (for a
        live query's re-run, which must see the change that caused it), waiting up to ``wait_ms``
        for one to get there; None (read from the primary) when none does. Costs one statement
        on the primary and one or a few on the replica."""
        candidates = [r for r in self.replicas if r.usable]
        if not candidates:
            return None
        replica = candidates[next(self._turn) % len(candidates)]
        try:
            target = await _position(self._primary, "SELECT pg_current_wal_lsn()::text")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait_ms / 1000
            while True:
                replayed = await _position(replica.engine, "SELECT pg_last_wal_replay_lsn()::text")
                if replayed is not None and target is not None and replayed >= target:
                    return replica
                if loop.time() >= deadline:
                    return None
                await asyncio.sleep(0.005)
        except Exception as error:
            self.failed(replica, error)
            return None

    async def check(self) -> None:
        """One check: the primary's position, then each replica's state."""
        loop = asyncio.get_running_loop()
        try:
            primary = await asyncio.wait_for(_position(self._primary, "SELECT pg_current_wal_lsn()::text"), 5)
        except Exception as error:
            # Without the primary's position no lag can be told: keep the last verdicts.
            log.warning("replica check: the primary did not answer: %s", _last_line(error))
            return
        now = loop.time()
        if primary is not None:
            self._samples.add(now, primary)
        await asyncio.gather(*(self._check(replica, now) for replica in self.replicas))

    async def _check(self, replica: Replica, now: float) -> None:
        was = replica.usable
        try:
            async with replica.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                result = await asyncio.wait_for(
                    connection.exec_driver_sql(
                        "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed"
                    ),
                    max(1.0, 5 * self._every),
                )
                # By name: exec_driver_sql's result is typed as one column of Any.
                row = result.mappings().one()
            standby, replayed_text = bool(row["standby"]), row["replayed"]
        except Exception as error:
            replica.up = replica.usable = False
            if was:
                log.warning("replica %s is down: %s", replica.name, _last_line(error))
            # Its pooled connections died with it: new ones once it is back.
            await replica.pool.drop_idle()
            await replica.engine.dispose()
            return
        replayed = parse_lsn(replayed_text) if replayed_text else None
        replica.up, replica.replayed = True, replayed
        if not standby or replayed is None:
            # Promoted (a primary of its own now) or not replaying: its data is not this primary's.
            replica.usable, replica.lag_ms = False, float("inf")
        else:
            replica.lag_ms = self._samples.lag_ms(now, replayed)
            replica.usable = replica.lag_ms <= self.max_lag_ms
        first, replica.checked = not replica.checked, True
        if first:
            log.info("replica %s: %s", replica.name, "usable" if replica.usable else "not usable")
        elif was != replica.usable:
            verdict = "usable again" if replica.usable else f"out (lag {replica.lag_ms:.0f} ms, standby {standby})"
            log.warning("replica %s is %s", replica.name, verdict)

    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.check()
            except Exception:
                log.exception("replica check failed")


async def _position(engine: AsyncEngine, statement: str) -> int | None:
    async with engine.connect() as connection:
        # No transaction around it: one round trip.
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        text = (await connection.exec_driver_sql(statement)).scalar()
    return parse_lsn(text) if isinstance(text, str) else None


def _last_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[-1].strip() if lines else type(error).__name__
