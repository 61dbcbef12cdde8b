"""The retry schedule of every outbound delivery: webhooks and customer emails alike.

A delivery is tried at once; after each failure it waits the next delay of
``RETRY_DELAYS`` — 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over
about 27.6 hours — and after the last one it has failed for good. Each wait is
scaled by a factor drawn uniformly from [0.9, 1.1], so deliveries that failed
together (a receiver's outage) do not all come back in the same second; the
jitter never makes a delay shorter than 90 % of the schedule's, so the whole
window stays at least 90 % of its sum.
"""

from __future__ import annotations

import datetime
import random

RETRY_DELAYS: tuple[datetime.timedelta, ...] = (
    datetime.timedelta(seconds=5),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=5),
    datetime.timedelta(hours=10),
    datetime.timedelta(hours=10),
)

# A delay is scaled by a factor in [1 - JITTER, 1 + JITTER].
JITTER = 0.1

# The time from the first attempt to the last, without jitter.
RETRY_WINDOW: datetime.timedelta = sum(RETRY_DELAYS, datetime.timedelta())

# Attempts in all: the first, then one per delay.
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def next_attempt_delay(attempts_made: int, rng: random.Random | None = None) -> datetime.timedelta | None:
    """How long to wait before the next attempt, after ``attempts_made`` attempts that all
    failed (0: none yet, so no wait); None once the schedule is exhausted.

    ``rng`` draws the jitter (pass a seeded ``random.Random`` for repeatable tests)."""
    if attempts_made < 0:
        raise ValueError(f"attempts_made must not be negative, got {attempts_made}")
    if attempts_made == 0:
        return datetime.timedelta(0)
    if attempts_made > len(RETRY_DELAYS):
        return None
    factor = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return RETRY_DELAYS[attempts_made - 1] * factor
