"""The live-query engine: subscriber groups, re-run when a committed change concerns them.

- A **group** is every subscriber with the same organization, document, operation, variables
  and effective scope (what the policy's SQL depends on: roles and the employee or customer
  the principal is). It runs once per change and serializes once; its subscribers share the
  bytes.
- A change (``app/live``: organization and tables, heard at commit) marks the groups of that
  organization that read one of those tables (what each group read is known from its last
  run's statements, ``resolvers/live/shapes.py``).
- Marked groups re-run in **lanes**, one per organization and document: a lane's marked groups
  run together, at most once per ``interval``, in one batch where groups that differ only in
  variables or scope share each statement (``resolvers/live/batch.py``). Each lane keeps its
  own pace, so a document whose statement is slow (a dashboard's aggregate over every order)
  does not hold back the next re-run of the quick ones (a customer's latest orders, a page of
  events): one round for the whole organization made every change wait for its slowest
  statement. The statements of all lanes share a few connections (``LIVE_STATEMENTS_AT_ONCE``).
- A subscriber keeps only the newest answer it has not sent yet: a slow client receives
  fewer messages, never an older state after a newer one, and holds one answer's memory.
- A message goes out only when the answer's bytes changed.

Nothing is polled: without changes, nothing runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from app.auth.principal import Principal
from app.db import Database
from app.errors import DatabaseUnavailable, ShuttingDown, database_refusal
from app.live.anchors import Anchoring, AnchorKind, anchoring_of, named_anchors
from app.live.changes import Change
from resolvers.live.batch import BatchedStatements, StatementBatch
from resolvers.live.shapes import StatementShapes
from schema.fastpath import PLANNED_ROOTS
from schema.live.execution import LiveExecutor, LiveQuery, PlanMemo
from schema.live.feed import SignalledFeed

log = logging.getLogger("bizgraph.live")

# Root fields whose answer depends on the principal only through the policy's SQL.
_POLICY_ONLY_ROOTS = frozenset(PLANNED_ROOTS) | {"node"}

# Live statements in flight at once, across every lane of the process: each holds a pooled
# connection that writes need too, and PostgreSQL shares the machine's cores with the server.
LIVE_STATEMENTS_AT_ONCE = 4


@dataclass(frozen=True)
class GroupKey:
    org_id: int
    text: str
    operation_name: str | None
    variables: bytes
    scope: Hashable


def effective_scope(principal: Principal, root: str) -> Hashable:
    """What the answer depends on besides the organization, the document and the variables."""
    if root in _POLICY_ONLY_ROOTS:
        # The planner's SQL sees roles, and the employee and customer anchoring personal scopes.
        return (principal.roles, principal.employee_id, principal.customer_id)
    # ``me`` and the like answer about the principal itself.
    return principal


class Subscriber(SignalledFeed):
    """One subscription to a live query: a feed of its group's answers, newest only."""

    def __init__(self, engine: LiveQueries, group: Group) -> None:
        super().__init__()
        self._engine = engine
        self.group = group
        self._latest: bytes | None = None

    def offer(self, answer: bytes) -> None:
        # Replaces an answer not yet taken: only the newest state matters.
        self._latest = answer
        self._notify()

    def take_ready(self) -> list[bytes]:
        if self._latest is None:
            return []
        answer, self._latest = self._latest, None
        self._ready.clear()
        return [answer]

    async def __anext__(self) -> bytes:
        while True:
            if self._latest is not None:
                answer, self._latest = self._latest, None
                self._ready.clear()
                return answer
            if self.ended:
                raise StopAsyncIteration
            await self._ready.wait()

    async def aclose(self) -> None:
        if not self.ended:
            self.end()
            self._engine.leave(self)


class Watcher(Protocol):
    """What the engine re-runs when its tables change: a live query's group, an event stream."""

    # What its last run read; None until it ran (or when unknown): any change concerns it.
    tables: frozenset[str] | None
    # How the policy confines its reads to one customer's or one rep's accounts (None: not).
    anchoring: Anchoring | None

    @property
    def org_id(self) -> int: ...

    @property
    def lane(self) -> Hashable:
        """Watchers of one lane (one document) re-run together, sharing statements; each lane
        at its own pace."""
        ...

    @property
    def wanted(self) -> bool:
        """Someone still listens."""
        ...

    @property
    def urgent(self) -> bool:
        """It must run without waiting for the interval (never ran, or has more to read)."""
        ...

    async def run(self, executor: LiveExecutor, statements: BatchedStatements) -> Any: ...

    def apply(self, outcome: Any) -> None:
        """Delivers what ``run`` produced to the listeners."""
        ...

    def end(self) -> None:
        """The engine stops: every listener's feed ends."""
        ...


@dataclass(eq=False)
class Group:
    key: GroupKey
    query: LiveQuery
    # Any subscriber's principal answers for all (equal effective scope).
    principal: Principal
    request_id: str
    subscribers: set[Subscriber] = field(default_factory=set)
    last: bytes | None = None
    tables: frozenset[str] | None = None
    memo: PlanMemo = field(default_factory=PlanMemo)
    # How the policy confines what it reads to one customer's or one rep's accounts.
    anchoring: Anchoring | None = None

    @property
    def org_id(self) -> int:
        return self.key.org_id

    @property
    def lane(self) -> Hashable:
        return (self.key.text, self.key.operation_name)

    @property
    def wanted(self) -> bool:
        return bool(self.subscribers)

    @property
    def urgent(self) -> bool:
        return self.last is None

    async def run(self, executor: LiveExecutor, statements: BatchedStatements) -> bytes:
        return await executor.answer(self.query, self.principal, self.request_id, statements, self.memo)

    def end(self) -> None:
        for subscriber in self.subscribers:
            subscriber.end()

    def apply(self, outcome: Any) -> None:
        if outcome != self.last:
            self.last = outcome
            for subscriber in list(self.subscribers):
                subscriber.offer(outcome)


class _Lane:
    """The marked watchers of one organization's document and the loop that re-runs them."""

    def __init__(self) -> None:
        self.marked: set[Watcher] = set()
        self.task: asyncio.Task[None] | None = None
        self.last_run = float("-inf")
        # When the oldest change waiting for the next round was heard (the loop's clock).
        self.marked_since = 0.0


class _Organization:
    """One organization's watchers, who reads what, and its lanes."""

    def __init__(self) -> None:
        self.groups: dict[GroupKey, Group] = {}
        self.watchers: set[Watcher] = set()
        # Who reads each table, and who may read anything (never ran, or unknown): a change
        # looks up its tables instead of asking every watcher. Readers whose reads of a table
        # the policy confines to one customer's or rep's accounts are filed under that anchor
        # as well, so a change naming its anchors finds them without a look at the others.
        self.readers: dict[str, set[Watcher]] = {}
        self.confined: dict[str, set[Watcher]] = {}
        self.by_anchor: dict[tuple[str, AnchorKind, int], set[Watcher]] = {}
        self.unknown: set[Watcher] = set()
        # Only lanes with work: a lane leaves once an interval passed with nothing marked.
        self.lanes: dict[Hashable, _Lane] = {}

    def add(self, watcher: Watcher) -> None:
        self.watchers.add(watcher)
        self._index(watcher)

    def remove(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)
        lane = self.lanes.get(watcher.lane)
        if lane is not None:
            lane.marked.discard(watcher)
        self._unindex(watcher)

    def read(self, watcher: Watcher, tables: frozenset[str] | None) -> None:
        """``watcher`` now reads ``tables``."""
        if tables == watcher.tables and (tables is not None or watcher in self.unknown):
            return
        self._unindex(watcher)
        watcher.tables = tables
        if watcher in self.watchers:
            self._index(watcher)

    def concerned(self, change: Change) -> set[Watcher]:
        found = set(self.unknown)
        anchors = named_anchors(change)
        for table in change.tables:
            found |= self.readers.get(table, set())
            if anchors is None:
                found |= self.confined.get(table, set())
                continue
            for kind, value in anchors:
                found |= self.by_anchor.get((table, kind, value), set())
        return found

    def _index(self, watcher: Watcher) -> None:
        if watcher.tables is None:
            self.unknown.add(watcher)
            return
        for table, anchor in self._filing(watcher):
            if anchor is None:
                self.readers.setdefault(table, set()).add(watcher)
            else:
                self.confined.setdefault(table, set()).add(watcher)
                self.by_anchor.setdefault((table, *anchor), set()).add(watcher)

    def _unindex(self, watcher: Watcher) -> None:
        self.unknown.discard(watcher)
        for table, anchor in self._filing(watcher):
            if anchor is None:
                _discard(self.readers, table, watcher)
            else:
                _discard(self.confined, table, watcher)
                _discard(self.by_anchor, (table, *anchor), watcher)

    @staticmethod
    def _filing(watcher: Watcher) -> list[tuple[str, tuple[AnchorKind, int] | None]]:
        anchoring = watcher.anchoring
        return [(table, anchoring.anchor(table) if anchoring else None) for table in watcher.tables or ()]


def _discard(index: dict[Any, set[Watcher]], key: Any, watcher: Watcher) -> None:
    watchers = index.get(key)
    if watchers is not None:
        watchers.discard(watcher)
        if not watchers:
            del index[key]


class LiveQueries:
    """Runs every live query's group and event stream of the process; a ``ChangeSink``."""

    def __init__(
        self,
        executor: LiveExecutor,
        database: Database,
        *,
        interval: float = 0.1,
        shapes: StatementShapes | None = None,
    ) -> None:
        self.executor = executor
        self.database = database
        self.interval = interval
        self.shapes = shapes or StatementShapes(database)
        self._organizations: dict[int, _Organization] = {}
        self._closed = False
        # Statements per round of the latest re-runs, newest last: what a change costs.
        self.rounds: list[list[int]] = []
        # Shared by every lane's statements (``LIVE_STATEMENTS_AT_ONCE``).
        self._statement_room = asyncio.Semaphore(LIVE_STATEMENTS_AT_ONCE)
        # Since start, for the metrics: watchers re-run, and the sum of their delivery lags
        # (from the change that marked them to their answer).
        self.reruns = 0
        self.delivery_lag_seconds = 0.0

    # -- subscribing

    def subscribe(self, principal: Principal, query: LiveQuery, request_id: str) -> Subscriber:
        if self._closed:
            raise ShuttingDown()
        key = GroupKey(
            principal.org_id,
            query.text,
            query.operation_name,
            orjson.dumps(dict(query.sent_variables), option=orjson.OPT_SORT_KEYS),
            effective_scope(principal, query.root),
        )
        organization = self._organization(principal.org_id)
        group = organization.groups.get(key)
        if group is None:
            # Outside the policy-only roots (``me``) an answer may read more than the policy
            # confines: such a group hears every change of its tables.
            anchoring = anchoring_of(principal) if query.root in _POLICY_ONLY_ROOTS else None
            group = Group(key, query, principal, request_id, anchoring=anchoring)
            organization.groups[key] = group
            organization.add(group)
        subscriber = Subscriber(self, group)
        group.subscribers.add(subscriber)
        if group.last is not None:
            subscriber.offer(group.last)
        else:
            self.mark(group)
        return subscriber

    def watch(self, watcher: Watcher) -> None:
        """Adds a watcher of its own (an event stream) and runs it."""
        if self._closed:
            raise ShuttingDown()
        self._organization(watcher.org_id).add(watcher)
        self.mark(watcher)

    def unwatch(self, watcher: Watcher) -> None:
        organization = self._organizations.get(watcher.org_id)
        if organization is not None:
            organization.remove(watcher)

    def leave(self, subscriber: Subscriber) -> None:
        group = subscriber.group
        group.subscribers.discard(subscriber)
        if not group.subscribers:
            organization = self._organizations.get(group.org_id)
            if organization is not None and organization.groups.get(group.key) is group:
                del organization.groups[group.key]
                self.unwatch(group)

    def _organization(self, org_id: int) -> _Organization:
        return self._organizations.setdefault(org_id, _Organization())

    @property
    def group_count(self) -> int:
        return sum(len(o.groups) for o in self._organizations.values())

    @property
    def subscriber_count(self) -> int:
        return sum(len(g.subscribers) for o in self._organizations.values() for g in o.groups.values())

    # -- hearing changes (ChangeSink)

    def changed(self, change: Change) -> None:
        if change.org_id is None:
            concerned = list(self._organizations.values())
        else:
            organization = self._organizations.get(change.org_id)
            concerned = [organization] if organization is not None else []
        for organization in concerned:
            for watcher in organization.concerned(change):
                self.mark(watcher)

    def resynced(self) -> None:
        for organization in self._organizations.values():
            for watcher in organization.watchers:
                self.mark(watcher)

    # -- re-running

    def mark(self, watcher: Watcher) -> None:
        """``watcher`` runs in its lane's next round."""
        organization = self._organizations.get(watcher.org_id)
        if organization is None or self._closed or watcher not in organization.watchers:
            return
        key = watcher.lane
        lane = organization.lanes.get(key)
        if lane is None:
            lane = organization.lanes[key] = _Lane()
        if not lane.marked:
            lane.marked_since = asyncio.get_running_loop().time()
        lane.marked.add(watcher)
        if lane.task is None or lane.task.done():
            lane.task = asyncio.create_task(self._rerun_loop(watcher.org_id, organization, key, lane))

    async def _rerun_loop(self, org_id: int, organization: _Organization, key: Hashable, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        try:
            while not self._closed:
                # At most one re-run per interval; what never ran (a new subscription) or has
                # more to read waits only for what arrives with it.
                urgent = bool(lane.marked) and all(watcher.urgent for watcher in lane.marked)
                delay = 0.002 if urgent else max(0.0, lane.last_run + self.interval - loop.time())
                await asyncio.sleep(delay)
                if not lane.marked:
                    # An interval passed since the last round with nothing marked: the lane
                    # leaves, and the next change starts a new one at once.
                    break
                watchers = [w for w in lane.marked if w.wanted]
                since = lane.marked_since
                lane.marked.clear()
                lane.last_run = loop.time()
                if watchers:
                    try:
                        await self._rerun(org_id, watchers, since)
                    except Exception as error:
                        # The round itself could not run (no connection while PostgreSQL
                        # restarts): the watchers keep their answers and run again at the next
                        # change, or when the change feed, back, resyncs. The loop must not die
                        # with it.
                        if not isinstance(database_refusal(error), DatabaseUnavailable):
                            raise
                        log.warning(
                            "live queries of organization %d could not run, the database is away: %s", org_id, error
                        )
        finally:
            if organization.lanes.get(key) is lane and not lane.marked:
                del organization.lanes[key]

    async def _rerun(self, org_id: int, watchers: list[Watcher], since: float) -> None:
        batch = StatementBatch(self.database, org_id, self.shapes, self._statement_room)

        def job(watcher: Watcher) -> Any:
            async def run(statements: BatchedStatements) -> tuple[Any, set[str]]:
                return await watcher.run(self.executor, statements), statements.texts

            return run

        organization = self._organization(org_id)

        def done(index: int, result: Any) -> None:
            # Delivered as soon as its own statements answered, not after the round's slowest.
            watcher = watchers[index]
            if isinstance(result, BaseException):
                # An answer carries every expected error in itself; this is a bug or a lost
                # database. The watcher keeps what it had and runs again on any change (and
                # on every one once the change feed is back after an outage).
                if isinstance(database_refusal(result), DatabaseUnavailable):
                    said = str(result).strip().splitlines() or [type(result).__name__]
                    log.warning("a live query could not reach the database: %s", said[0])
                else:
                    log.error("a live query failed", exc_info=result)
                organization.read(watcher, None)
                return
            outcome, texts = result
            if texts or outcome is not None:
                organization.read(watcher, self.shapes.tables_read(texts))
            watcher.apply(outcome)
            self.reruns += 1
            self.delivery_lag_seconds += asyncio.get_running_loop().time() - since
            if watcher.wanted and watcher.urgent:
                # An event stream replaying with room for more reads on at once.
                self.mark(watcher)

        started = asyncio.get_running_loop().time()
        await batch.run([job(watcher) for watcher in watchers], done)
        self.rounds = [*self.rounds[-99:], batch.rounds]
        log.debug(
            "re-ran %d watchers of organization %d in %.0f ms (statements per round: %s)",
            len(watchers),
            org_id,
            (asyncio.get_running_loop().time() - started) * 1000,
            batch.rounds,
        )

    async def settled(self) -> None:
        """Returns once no re-run is pending or running (for tests and benchmarks)."""
        while True:
            tasks = [
                lane.task
                for o in self._organizations.values()
                for lane in o.lanes.values()
                if lane.task is not None and not lane.task.done()
            ]
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Ends every feed (the edge then says goodbye to its clients) and every loop."""
        self._closed = True
        tasks = [lane.task for o in self._organizations.values() for lane in o.lanes.values() if lane.task is not None]
        for organization in self._organizations.values():
            for watcher in organization.watchers:
                watcher.end()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
