"""``TurnBudget``: how many live messages the process's subscriptions may put on their way to
clients per turn of the event loop.

One turn of asyncio's loop runs every callback that was ready when it began, then looks at the
sockets again. A change that reaches thousands of subscribers wakes thousands of feeds at once;
each sending a bounded batch still makes one turn as long as all the batches together, and an
HTTP request (a write) needs a turn for each of its database round trips: at 10,000 subscribers
a burst of events held a mutation for seconds. With a budget, a turn frames at most
``frames_per_turn`` messages; a feed that finds it spent waits, first come first served, for a
later turn, and the requests' callbacks run in between. The fan-out is paced, not slowed: the
budget refills every turn.

Feeds that push their frames themselves (``pump.py``) queue a callback with ``later`` instead
of a task waiting in ``take``: one queue, first come first served, and the callbacks of a turn
run inside its refill, with no task woken for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger("bizgraph.live")

# About 2 ms of framing and writing per turn on this machine's kind (~8 µs a message).
FRAMES_PER_TURN = 256


class TurnBudget:
    def __init__(self, frames_per_turn: int = FRAMES_PER_TURN) -> None:
        self.frames_per_turn = frames_per_turn
        self._left = frames_per_turn
        # Tasks waiting in ``take`` (their futures) and callbacks queued by ``later``, in order.
        self._waiting: deque[asyncio.Future[None] | Callable[[], int]] = deque()
        self._refill_due = False

    async def take(self) -> None:
        """Returns once this turn may frame one more message (at once while the budget lasts)."""
        if self._left > 0 and not self._waiting:
            self._left -= 1
            self._refill_later()
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        self._refill_later()
        try:
            await waiter
        except asyncio.CancelledError:
            # A waiter granted its message and then cancelled hands it back.
            if waiter.done() and not waiter.cancelled():
                self._left += 1
            raise

    def later(self, move: Callable[[], int]) -> None:
        """Calls ``move`` in a coming turn, in its place among the waiters; it returns how many
        messages it framed (each counts against that turn's budget, and so does the call)."""
        self._waiting.append(move)
        self._refill_later()

    def _refill_later(self) -> None:
        if not self._refill_due:
            self._refill_due = True
            # A callback scheduled now runs in the next turn, after what is ready in this one.
            asyncio.get_running_loop().call_soon(self._refill)

    def _refill(self) -> None:
        self._refill_due = False
        self._left = self.frames_per_turn
        # The woken run in the turn after this one, where the next refill (scheduled below,
        # behind them) finds their share already spent.
        while self._waiting and self._left > 0:
            waiter = self._waiting.popleft()
            if isinstance(waiter, asyncio.Future):
                if not waiter.done():
                    waiter.set_result(None)
                    self._left -= 1
                continue
            try:
                self._left -= max(1, waiter())
            except Exception:  # a bug in one feed's move must not stop everyone else's
                log.exception("a live message could not be moved to its socket")
                self._left -= 1
        if self._waiting or self._left < self.frames_per_turn:
            self._refill_later()
