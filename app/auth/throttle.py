"""Sign-in throttling: failed attempts slow down, then lock out, who keeps failing.

Failures are counted per key; a key is one thing an attacker would vary or
hold fixed: the username tried, the client id whose secret was guessed, the
address the attempts come from. After ``failures_before_delay`` failures a key
must wait before its next attempt — 1 s, then 2 s, 4 s … doubling with each
further failure —, and after ``failures_before_lockout`` failures it is locked
out for ``lockout_seconds``. A wait is enforced by refusing early attempts
(the caller answers HTTP 429 with ``Retry-After``), never by holding a request
open, so throttling costs the server nothing. Attempts still running count
too: a key gets at most as many attempts at once as it has failures to spare
before the first delay (one, once delays have begun), so a burst of parallel
guesses is throttled like a sequence. A failure stops counting
``window_seconds`` after the key's last failure; a successful sign-in forgets
the username's failures.

The counts live in this process's memory: each server process throttles on its
own, and a restart forgets. The clock is injectable, so tests need not wait.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

FIRST_DELAY_SECONDS = 1.0


@dataclass(frozen=True)
class ThrottleLimits:
    failures_before_delay: int
    failures_before_lockout: int
    lockout_seconds: int
    window_seconds: int


@dataclass
class _Failures:
    count: int
    last_failure: float
    next_attempt: float  # no attempt before this moment


class LoginThrottle:
    def __init__(
        self, limits: ThrottleLimits, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[str, _Failures] = {}
        self._in_flight: dict[str, int] = {}

    def admit(self, keys: Collection[str]) -> int:
        """0 when an attempt for ``keys`` may run now (the caller then calls ``release``
        once it is answered), else the whole seconds to wait before trying again."""
        now = self.clock()
        entries = [self._current(key, now) for key in keys]
        wait = max((entry.next_attempt - now for entry in entries), default=0.0)
        if wait > 0:
            return math.ceil(wait)
        spare = (max(1, self.limits.failures_before_delay - entry.count) for entry in entries)
        if any(self._in_flight.get(key, 0) >= allowed for key, allowed in zip(keys, spare, strict=True)):
            return math.ceil(FIRST_DELAY_SECONDS)  # as many attempts as it may fail are running
        for key in keys:
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return 0

    def release(self, keys: Iterable[str]) -> None:
        for key in keys:
            remaining = self._in_flight.pop(key, 1) - 1
            if remaining > 0:
                self._in_flight[key] = remaining

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        for key in keys:
            entry = self._current(key, now)
            entry.count += 1
            entry.last_failure = now
            entry.next_attempt = now + self._delay(entry.count)
            self._failures[key] = entry
        self._bound(now)

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _delay(self, failures: int) -> float:
        limits = self.limits
        if failures >= limits.failures_before_lockout:
            return float(limits.lockout_seconds)
        if failures < limits.failures_before_delay:
            return 0.0
        growing = FIRST_DELAY_SECONDS * 2.0 ** (failures - limits.failures_before_delay)
        return min(growing, float(limits.lockout_seconds))

    def _current(self, key: str, now: float) -> _Failures:
        """The key's failures, or a clean slate once they have aged out (and any wait is over)."""
        entry = self._failures.get(key)
        if entry is None:
            return _Failures(count=0, last_failure=now, next_attempt=now)
        if now - entry.last_failure >= self.limits.window_seconds and now >= entry.next_attempt:
            self._failures.pop(key, None)
            return _Failures(count=0, last_failure=now, next_attempt=now)
        return entry

    def _bound(self, now: float) -> None:
        """Keep memory bounded under a flood of made-up usernames: drop aged-out keys,
        then, if still full, the ones whose wait ends first."""
        if len(self._failures) <= self.max_keys:
            return
        self._failures = {k: e for k, e in self._failures.items() if now - e.last_failure < self.limits.window_seconds}
        if len(self._failures) > self.max_keys:
            kept = sorted(self._failures.items(), key=lambda item: item[1].next_attempt)[-self.max_keys // 2 :]
            self._failures = dict(kept)


def client_key(client_id: str) -> str:
    return f"client:{client_id}"


def username_key(username: str) -> str:
    # Emails sign in case-insensitively (the login lookup compares lower()).
    return f"username:{username.strip().lower()}"


def address_key(address: str) -> str:
    return f"address:{address}"
