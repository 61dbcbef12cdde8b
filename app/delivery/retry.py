"""The retry schedule of every outbound delivery: emails and webhooks alike.

A delivery is tried at once; after each failure it waits the next delay of
``RETRY_DELAYS`` (about 28 hours in all, eight attempts), and after the last
one it has failed for good. Each wait is stretched or shrunk by up to a tenth
at random, so deliveries that failed together (a receiver that was down) do not
all come back in the same second.
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

# Each delay is multiplied by a factor drawn from [1 - JITTER, 1 + JITTER].
JITTER = 0.1


def next_attempt_delay(attempts_made: int, rng: random.Random | None = None) -> datetime.timedelta | None:
    """How long to wait before the next attempt, after ``attempts_made`` attempts
    (0: none yet, so no wait); None once the schedule is exhausted."""
    if attempts_made < 0:
        raise ValueError(f"attempts_made must not be negative, got {attempts_made}")
    if attempts_made == 0:
        return datetime.timedelta(0)
    if attempts_made > len(RETRY_DELAYS):
        return None
    factor = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return RETRY_DELAYS[attempts_made - 1] * factor
