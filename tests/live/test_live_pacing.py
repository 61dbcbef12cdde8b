"""Live re-runs are paced by what they cost (schema/live/engine.py): a group whose statements take
long spends at most the configured share of the time in them, however often its tables change;
a cheap group marked beside it keeps the interval; a paced group's last change still arrives.

The watchers are the engine's own kind of thing (``Watcher``) with real statements through the
real batch, on the writes database: ``pg_sleep`` stands for an expensive aggregate."""

from __future__ import annotations

import asyncio
from typing import Any

from app.live.changes import Change
from resolvers.live.batch import BatchedStatements
from schema.live.engine import LiveQueries

ACME = 1


class Sleeper:
    """A watcher whose run is one statement that takes ``seconds`` in PostgreSQL."""

    def __init__(self, seconds: float, table: str) -> None:
        self.seconds = seconds
        self.table = table
        self.tables: frozenset[str] | None = frozenset({table})
        self.anchoring = None
        self.runs: list[float] = []
        self.last_seen = -1

    @property
    def org_id(self) -> int:
        return ACME

    @property
    def wanted(self) -> bool:
        return True

    @property
    def urgent(self) -> bool:
        return False

    async def run(self, executor: Any, statements: BatchedStatements) -> int:
        # It reads its table, as a live query does: what it read is what marks it again. (Its
        # own text: watchers whose statement is the same text share one, and its time.)
        await statements.fetch_value(
            f"SELECT %(n)s::int FROM pg_sleep({self.seconds}) WHERE EXISTS (SELECT FROM {self.table})",
            {"n": len(self.runs)},
        )
        self.runs.append(asyncio.get_running_loop().time())
        return len(self.runs)

    def apply(self, outcome: Any) -> None:
        self.last_seen = outcome

    def end(self) -> None:
        pass


async def _changing(engine: LiveQueries, table: str, seconds: float, every: float = 0.005) -> float:
    """Marks every watcher of ``table`` every ``every`` seconds for ``seconds``; when it stopped."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        engine.changed(Change(ACME, frozenset({table})))
        await asyncio.sleep(every)
    return loop.time()


async def _engine(writes_app: Any, busy_share: float) -> LiveQueries:
    return LiveQueries(None, writes_app.state.database, interval=0.02, busy_share=busy_share)  # type: ignore[arg-type]


async def test_an_expensive_group_spends_at_most_its_share_and_a_cheap_one_keeps_the_interval(writes_app):
    engine = await _engine(writes_app, busy_share=0.25)
    expensive, cheap = Sleeper(0.06, "orders"), Sleeper(0.0, "orders")
    try:
        engine.watch(expensive)
        engine.watch(cheap)
        stopped = await _changing(engine, "orders", 1.5)
        await engine.settled()
    finally:
        await engine.close()
    # 60 ms at 25 %: a run at most every 240 ms (about 7 in 1.5 s); unpaced it ran every ~80 ms.
    assert 3 <= len(expensive.runs) <= 8, len(expensive.runs)
    gaps = [b - a for a, b in zip(expensive.runs, expensive.runs[1:], strict=False)]
    assert min(gaps) >= 0.2, gaps
    # The cheap one was not held to the expensive one's pace.
    assert len(cheap.runs) >= 2 * len(expensive.runs), (len(cheap.runs), len(expensive.runs))
    # The last change reached both: each ran after the changes stopped coming.
    assert expensive.runs[-1] >= stopped - 0.01 and cheap.runs[-1] >= stopped - 0.01


async def test_without_pacing_the_same_group_runs_at_the_interval(writes_app):
    engine = await _engine(writes_app, busy_share=1.0)
    expensive = Sleeper(0.06, "orders")
    try:
        engine.watch(expensive)
        await _changing(engine, "orders", 1.5)
        await engine.settled()
    finally:
        await engine.close()
    assert len(expensive.runs) >= 12, len(expensive.runs)
