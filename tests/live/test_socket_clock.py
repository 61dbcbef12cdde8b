"""The sockets' shared timer (app/http/live/clock.py): each socket is called at the time it last
asked for, in order, never for an outdated time, and no more once it is forgotten or says so."""

from __future__ import annotations

import asyncio

from app.http.live.clock import SocketClock


class Recorder:
    """A socket that notes when it was called and asks for the times it is given, in turn."""

    def __init__(self, name: str, calls: list[tuple[str, float]], then: list[float | None]) -> None:
        self.name = name
        self.calls = calls
        self.then = then

    def tick(self, now: float) -> float | None:
        self.calls.append((self.name, now))
        return self.then.pop(0) if self.then else None


async def test_sockets_are_called_in_order_at_their_times():
    loop = asyncio.get_running_loop()
    clock = SocketClock()
    calls: list[tuple[str, float]] = []
    start = loop.time()
    a = Recorder("a", calls, [start + 0.09, None])
    # b, first, asks for a time after c's: the timer must still wake for c first.
    b = Recorder("b", calls, [start + 0.11])
    c = Recorder("c", calls, [])
    clock.at(start + 0.06, a)
    clock.at(start + 0.02, b)
    clock.at(start + 0.04, c)
    assert len(clock) == 3
    await asyncio.sleep(0.16)
    assert [name for name, _ in calls] == ["b", "c", "a", "a", "b"]
    # Never early; late by no more than the loop's own slack.
    for (name, at), wanted in zip(calls, [0.02, 0.04, 0.06, 0.09, 0.11], strict=True):
        assert start + wanted <= at + 0.001, name
        assert at < start + wanted + 0.05, name
    assert len(clock) == 0


async def test_a_socket_is_called_only_at_the_time_it_asked_for_last():
    loop = asyncio.get_running_loop()
    clock = SocketClock()
    calls: list[tuple[str, float]] = []
    start = loop.time()
    later = Recorder("later", calls, [])
    earlier = Recorder("earlier", calls, [])
    clock.at(start + 0.02, later)
    clock.at(start + 0.08, later)  # moved later: the first entry is outdated
    clock.at(start + 0.08, earlier)
    clock.at(start + 0.03, earlier)  # moved earlier: the timer follows
    await asyncio.sleep(0.12)
    assert [name for name, _ in calls] == ["earlier", "later"]
    assert calls[0][1] < start + 0.07
    assert calls[1][1] >= start + 0.08 - 0.001


async def test_a_forgotten_socket_is_not_called():
    loop = asyncio.get_running_loop()
    clock = SocketClock()
    calls: list[tuple[str, float]] = []
    gone = Recorder("gone", calls, [])
    kept = Recorder("kept", calls, [])
    clock.at(loop.time() + 0.01, gone)
    clock.at(loop.time() + 0.03, kept)
    clock.forget(gone)
    await asyncio.sleep(0.06)
    assert [name for name, _ in calls] == ["kept"]


async def test_a_socket_due_again_at_once_waits_for_the_next_firing():
    # A tick that asks for a time already past does not spin the clock in one callback.
    loop = asyncio.get_running_loop()
    clock = SocketClock()
    calls: list[tuple[str, float]] = []
    start = loop.time()
    eager = Recorder("eager", calls, [start, start, None])
    clock.at(start + 0.01, eager)
    other_turns = 0

    async def counting() -> None:
        nonlocal other_turns
        for _ in range(10):
            other_turns += 1
            await asyncio.sleep(0)

    await asyncio.gather(asyncio.sleep(0.05), counting())
    assert [name for name, _ in calls] == ["eager"] * 3
    assert other_turns == 10
