"""app/delivery/retry.py: the schedule every outbound delivery follows."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from app.delivery.retry import JITTER, MAX_ATTEMPTS, RETRY_DELAYS, RETRY_WINDOW, next_attempt_delay

SCHEDULE = [
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=10),
]


def test_the_schedule_is_the_documented_one():
    assert list(RETRY_DELAYS) == SCHEDULE
    assert RETRY_WINDOW == sum(RETRY_DELAYS, dt.timedelta()) == dt.timedelta(hours=27, minutes=35, seconds=5)
    assert MAX_ATTEMPTS == 8


def test_the_first_attempt_is_at_once_and_none_follows_the_last():
    assert next_attempt_delay(0) == dt.timedelta(0)
    assert next_attempt_delay(len(SCHEDULE) + 1) is None
    assert next_attempt_delay(100) is None
    with pytest.raises(ValueError):
        next_attempt_delay(-1)


@pytest.mark.parametrize("attempts_made", range(1, len(SCHEDULE) + 1))
def test_each_wait_is_its_delay_within_the_jitter(attempts_made):
    rng = random.Random(attempts_made)
    base = SCHEDULE[attempts_made - 1]
    waits = [next_attempt_delay(attempts_made, rng) for _ in range(200)]
    assert all(w is not None and base * (1 - JITTER) <= w <= base * (1 + JITTER) for w in waits)
    # Jitter spreads them: deliveries that failed together do not come back together.
    assert len(set(waits)) > 150


def test_the_same_seed_gives_the_same_waits():
    first = [next_attempt_delay(n, random.Random(3)) for n in range(1, 8)]
    again = [next_attempt_delay(n, random.Random(3)) for n in range(1, 8)]
    assert first == again
