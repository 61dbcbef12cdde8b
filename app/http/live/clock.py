"""``SocketClock``: every socket's next deadline (its init timeout, its next ping, the moment it
counts as silent, its token's expiry) on one timer of the event loop.

A socket needs attention a few times a minute. A watchdog task per socket, sleeping until its
own next deadline, costs a task, its coroutine, an event and a timer for each of 10,000 sockets,
each woken through the loop's task machinery and tracked by the cyclic collector. One heap of
deadlines with one loop timer for the earliest costs an entry per socket, and a due socket is
called back directly; it schedules async work (a close, a user check) only when there is some.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Protocol


class Ticking(Protocol):
    def tick(self, now: float) -> float | None:
        """Does what is due at ``now``; returns when it is next due (None: never again)."""
        ...


class SocketClock:
    def __init__(self) -> None:
        # (when, order of asking, socket): the order breaks ties, sockets never compare.
        self._due: list[tuple[float, int, Ticking]] = []
        # What each socket asked for last: an entry for another time is outdated and skipped.
        self._asked: dict[Ticking, float] = {}
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None

    def __len__(self) -> int:
        return len(self._asked)

    def at(self, when: float, socket: Ticking) -> None:
        """``socket.tick`` runs at ``when`` (on the loop's clock), instead of when it asked before."""
        self._asked[socket] = when
        heapq.heappush(self._due, (when, next(self._order), socket))
        if self._timer_at is None or when < self._timer_at:
            self._arm(when)

    def forget(self, socket: Ticking) -> None:
        """``socket`` is not called again (its entries are dropped as they come due)."""
        self._asked.pop(socket, None)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(when, self._fire)
        self._timer_at = when

    def _fire(self) -> None:
        self._timer = self._timer_at = None
        now = asyncio.get_running_loop().time()
        due = self._due
        # Taken off first: a socket due again at once runs at the next firing, not in a loop here.
        ready = []
        while due and due[0][0] <= now:
            ready.append(heapq.heappop(due))
        for when, _, socket in ready:
            if self._asked.get(socket) != when:
                continue  # outdated: the socket asked for another time since, or left
            del self._asked[socket]
            following = socket.tick(now)
            if following is not None and socket not in self._asked:
                self.at(following, socket)
        self._arm_for_earliest()

    def _arm_for_earliest(self) -> None:
        """Outdated entries are dropped as they come due; the timer waits for the earliest left."""
        due = self._due
        while due and self._asked.get(due[0][2]) != due[0][0]:
            heapq.heappop(due)
        if due and (self._timer_at is None or due[0][0] < self._timer_at):
            self._arm(due[0][0])
