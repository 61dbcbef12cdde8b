"""Token buckets of cost units, one per principal, kept in this process's memory.

A bucket holds at most ``capacity`` units (the burst) and refills at ``capacity`` units a
minute. An operation is paid for whole or not at all: when the bucket holds less than its
cost, nothing is taken and the answer says how long until it holds enough.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Clock = Callable[[], float]


@dataclass(frozen=True)
class Charge:
    """The outcome of asking a bucket for ``cost`` units."""

    paid: bool
    # Whole units left after this charge (or, when refused, before it).
    remaining: int
    # When refused: whole seconds until the bucket holds the cost; 0 when paid.
    retry_after_seconds: int


class Buckets(Protocol):
    capacity: int

    async def charge(self, key: str, cost: int) -> Charge | None:
        """Take ``cost`` units from ``key``'s bucket; None when the store cannot be reached
        (the caller lets the operation through rather than take the API down)."""
        ...


@dataclass(frozen=True)
class Refill:
    """The arithmetic of one bucket, shared by the memory and Redis stores."""

    capacity: int

    @property
    def per_second(self) -> float:
        return self.capacity / 60

    @property
    def seconds_to_fill(self) -> float:
        return 60.0

    def level(self, tokens: float, updated_at: float, now: float) -> float:
        # A clock that steps back (another process's, or NTP) refills nothing rather than drains.
        return min(float(self.capacity), tokens + max(0.0, now - updated_at) * self.per_second)

    def charge(self, level: float, cost: int) -> tuple[float, Charge]:
        """The new level and the outcome of charging ``cost`` against ``level``."""
        if level >= cost:
            left = level - cost
            return left, Charge(True, math.floor(left), 0)
        wait = math.ceil((cost - level) / self.per_second)
        return level, Charge(False, math.floor(level), max(1, wait))


class MemoryBuckets:
    """The buckets of one process, bounded: a bucket idle long enough to be full again is no
    different from a new one, so it is dropped; past ``max_buckets`` the idlest goes first."""

    def __init__(self, capacity: int, *, clock: Clock = time.time, max_buckets: int = 100_000) -> None:
        self.capacity = capacity
        self.refill = Refill(capacity)
        self.clock = clock
        self.max_buckets = max_buckets
        # key → (tokens, last update), least recently used first.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    async def charge(self, key: str, cost: int) -> Charge:
        now = self.clock()
        tokens, updated_at = self._buckets.pop(key, (float(self.capacity), now))
        level, outcome = self.refill.charge(self.refill.level(tokens, updated_at, now), cost)
        self._buckets[key] = (level, now)
        self._evict(now)
        return outcome

    def _evict(self, now: float) -> None:
        # Oldest first: stop at the first bucket still refilling (all after it are younger).
        while self._buckets:
            key, (_, updated_at) = next(iter(self._buckets.items()))
            if len(self._buckets) <= self.max_buckets and now - updated_at < self.refill.seconds_to_fill:
                return
            del self._buckets[key]
