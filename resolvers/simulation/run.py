"""Pacing the simulated actions and counting what they did.

Actions start on a fixed schedule (``rate`` a second) and run concurrently, a few at a time, so a
slow one does not hold the pace back; when the database cannot keep up, the schedule waits for a
free slot rather than piling up work. Stopping (``stop`` set, the action or time budget spent)
starts nothing new and lets the actions under way finish, so every one is committed or rolled back
whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from app.db import Database
from app.errors import BizgraphError
from resolvers.planner.pagination import PageLimits
from resolvers.simulation.actions import PLACE, Action, Actor, Refused, choose
from resolvers.simulation.staff import Staff
from resolvers.writes.runner import CommandService

# Actions under way at once: enough to hold 20+/s on one connection each, few enough to leave the
# server's pool alone.
CONCURRENCY = 4
REQUEST_PREFIX = "simulate"

# How each outcome reads in a progress line, in this order.
_LABELS = (
    ("placed", "orders placed for approval"),
    ("placed_approved", "placed and approved at once"),
    ("approved", "approved"),
    ("fulfilled", "fulfilled"),
    ("cancelled", "cancelled"),
    ("invoiced", "invoices issued"),
    ("paid", "paid in full"),
    ("paid_partly", "paid in part"),
    ("restocked", "restocked"),
)


@dataclass
class Tally:
    """What the actions did so far: outcomes by kind, refusals by action and code, and the
    actions that found nothing to do (no customer or product left to order)."""

    actions: int = 0
    idle: int = 0
    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)

    def refusals(self, action: str) -> int:
        return sum(n for (name, _), n in self.refused.items() if name == action)

    def line(self, elapsed: float) -> str:
        rate = self.actions / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.done[key]} {label}" for key, label in _LABELS if self.done[key]]
        if self.refused:
            codes = ", ".join(f"{action} {code} {n}" for (action, code), n in sorted(self.refused.items()))
            parts.append(f"{sum(self.refused.values())} refused ({codes})")
        if self.idle:
            parts.append(f"{self.idle} found nothing to do")
        return f"{elapsed:6.1f} s, {self.actions} actions ({rate:.1f}/s): " + (", ".join(parts) or "nothing yet")


@dataclass
class Simulation:
    database: Database
    staff: list[Staff]
    rate: float
    chance: random.Random = field(default_factory=random.Random)
    tally: Tally = field(default_factory=Tally)

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise BizgraphError(f"the rate must be above 0 actions a second, got {self.rate}")
        if not self.staff:
            raise BizgraphError("no organization to simulate")

    async def run(
        self,
        *,
        stop: asyncio.Event | None = None,
        actions: int | None = None,
        seconds: float | None = None,
        report: Callable[[str], None] | None = None,
        report_every: float = 5.0,
    ) -> Tally:
        """Act until ``stop`` is set, ``actions`` have started or ``seconds`` have passed."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        started = loop.time()
        slots = asyncio.Semaphore(CONCURRENCY)
        running: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []
        reporter = asyncio.create_task(self._report(report, started, report_every)) if report else None
        n = 0
        try:
            while not stop.is_set() and not failures and (actions is None or n < actions):
                due = started + n / self.rate
                if seconds is not None and due - started >= seconds:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.0, due - loop.time()))
                if stop.is_set():
                    break
                await slots.acquire()
                n += 1
                task = asyncio.create_task(self._act(n, failures))
                running.add(task)
                task.add_done_callback(running.discard)
                task.add_done_callback(lambda _: slots.release())
            if running:
                await asyncio.gather(*running)
        finally:
            if reporter is not None:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter
        if failures:
            raise failures[0]
        return self.tally

    async def _report(self, report: Callable[[str], None], started: float, every: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every)
            report(self.tally.line(loop.time() - started))

    async def _act(self, n: int, failures: list[BaseException]) -> None:
        try:
            staff = self.chance.choice(self.staff)
            action = choose(self.chance)
            # When there is nothing to approve, invoice or pay yet, a new order is placed instead.
            acted = await self._try(staff, action, n)
            if not acted and action is not PLACE:
                acted = await self._try(staff, PLACE, n)
            self.tally.actions += 1
            self.tally.idle += not acted
        except Exception as error:  # handed to run(), which raises it once the others are done
            failures.append(error)

    async def _try(self, staff: Staff, action: Action, n: int) -> bool:
        """Run ``action`` as one of the users allowed to; False when there was nothing to do."""
        user = staff.pick(action.roles, self.chance)
        if user is None:
            return False
        actor = Actor(CommandService(self.database, user, PageLimits(), f"{REQUEST_PREFIX}-{n}"))
        try:
            what = await action.perform(actor, self.chance)
        except Refused as refused:
            self.tally.refused[action.name, refused.code] += 1
            return True
        if what is None:
            return False
        self.tally.done[what] += 1
        return True
