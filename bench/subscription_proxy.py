"""Counting the server's SQL statements from outside it, when ``pg_stat_statements`` is not loaded.

The server under test reaches PostgreSQL through a small protocol proxy that runs in a process of
its own (so that its CPU is neither the server's nor the load's) and counts what the server sends:
every Execute of the extended protocol and every simple Query is one statement, whatever runs it
(the mutations, the live queries' re-runs, the listener, the pool's pings, BEGIN and COMMIT; these
are split out by the statement's first word). The counts live in shared memory, read by the bench
at the start and the end of each window.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

from bench.statements import WireProxy, _cstring

# Slots of the shared counters.
STATEMENTS, SELECTS, WRITES, TRANSACTION, OTHER = range(5)
SLOTS = 5


def _slot(sql: str) -> int:
    word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    if word in ("SELECT", "WITH"):
        return SELECTS
    if word in ("INSERT", "UPDATE", "DELETE"):
        return WRITES
    if word in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
        return TRANSACTION
    return OTHER


class StatementTally:
    """Takes the client→server messages (WireProxy's ``log``) and counts statements by kind."""

    def __init__(self, counts: SynchronizedArray[Any]) -> None:
        self.counts = counts
        self.named: dict[str, str] = {}  # prepared statement name → its SQL
        self.unnamed = ""
        self.portal_sql = ""

    def message(self, kind: int, payload: bytes) -> None:
        if kind == ord("Q"):
            self._count(_cstring(payload, 0)[0])
        elif kind == ord("P"):
            name, at = _cstring(payload, 0)
            sql = _cstring(payload, at)[0]
            if name:
                self.named[name] = sql
            else:
                self.unnamed = sql
        elif kind == ord("B"):
            _portal, at = _cstring(payload, 0)
            name = _cstring(payload, at)[0]
            self.portal_sql = self.named.get(name, "") if name else self.unnamed
        elif kind == ord("E"):
            self._count(self.portal_sql)

    def _count(self, sql: str) -> None:
        self.counts[STATEMENTS] += 1
        self.counts[_slot(sql)] += 1


def _serve(host: str, port: int, counts: SynchronizedArray[Any], ready: Any, listen_port: Any) -> None:
    async def main() -> None:
        proxy = WireProxy(host, port)
        # Every connection shares the tally's prepared-statement names: psycopg names them per
        # connection (_pg3_0, …), so one name may mean different SQL on two connections; the kind
        # of statement, which is all the split needs, is then only a best guess.
        proxy.log = StatementTally(counts)  # type: ignore[assignment]
        await proxy.start()
        listen_port.value = proxy.listen_port
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


class CountingProxy:
    """The proxy process: ``start()`` gives the port to point the server's DATABASE_URL at."""

    def __init__(self, host: str, port: int) -> None:
        context = multiprocessing.get_context("fork")
        self.counts = context.Array("q", SLOTS)
        self._ready = context.Event()
        self._port = context.Value("i", 0)
        self._process = context.Process(
            target=_serve, args=(host, port, self.counts, self._ready, self._port), daemon=True
        )

    def start(self) -> int:
        self._process.start()
        if not self._ready.wait(10):
            raise SystemExit("bench: the statement-counting proxy did not start")
        return int(self._port.value)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def snapshot(self) -> list[int]:
        with self.counts.get_lock():  # all zero when never started (--no-proxy)
            return list(self.counts)

    def stop(self) -> None:
        if self._process.pid is not None:
            self._process.terminate()
            self._process.join(5)
