"""A socket subscription's messages move from its feed to its socket without a task woken per
message (app/http/live/pump.py, sender.py): written in a turn of the loop's own callbacks when
the socket takes bytes, queued behind what waits when it does not, and, while a slow socket has
no room, a live query keeps only its newest answer and an event stream its bounded queue.

The feeds are the engine's own (``Subscriber``, ``EventStream``); the socket is a recording wire.
The whole path through real sockets is in test_socket_batching.py and test_stuck_subscriber.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from app.errors import StreamOverflow
from app.http.live.frames import NEXT_SUFFIX, next_prefix
from app.http.live.pump import FeedPump
from app.http.live.sender import SocketSender
from app.http.live.turns import TurnBudget
from schema.live.engine import Subscriber
from schema.live.streams import EventStream

PREFIX = next_prefix("1")


class RecordingWire:
    """Takes bytes at once while ``open``; otherwise ``write`` waits until it is. Notes who wrote."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.writers: list[str] = []  # "callback" (no task) or the writing task's name
        self.open = asyncio.Event()
        self.open.set()

    def _record(self, frames: Sequence[bytes]) -> None:
        task = asyncio.current_task()
        self.writers.append("callback" if task is None else task.get_name())
        self.frames.extend(frames)

    async def write(self, frames: Sequence[bytes]) -> None:
        await self.open.wait()
        self._record(frames)

    def write_now(self, frames: Sequence[bytes]) -> bool:
        if not self.open.is_set():
            return False
        self._record(frames)
        return True


class _Engine:
    def leave(self, subscriber: Any) -> None:
        pass


class _StreamGroup:
    class queries:
        page_size = 2

    def room_made(self, stream: Any) -> None:
        pass

    def leave(self, stream: Any) -> None:
        pass


def sender_of(wire: RecordingWire, capacity: int = 4) -> SocketSender:
    sender = SocketSender(None, capacity, turns=TurnBudget(), wire=wire)  # type: ignore[arg-type]
    sender.start()
    return sender


def framed(*messages: bytes) -> list[bytes]:
    return [PREFIX + message + NEXT_SUFFIX for message in messages]


async def turns(count: int = 3) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_answers_are_written_from_the_loops_callbacks_with_no_task_woken() -> None:
    wire = RecordingWire()
    sender = sender_of(wire)
    feed = Subscriber(_Engine(), None)  # type: ignore[arg-type]
    pumping = asyncio.create_task(FeedPump(feed, sender, PREFIX).run(), name="subscription")
    await turns()
    feed.offer(b'{"data":1}')
    await turns()
    feed.offer(b'{"data":2}')
    await turns()
    assert wire.frames == framed(b'{"data":1}', b'{"data":2}')
    # Neither the subscription's task nor the socket's writer task wrote them.
    assert wire.writers == ["callback", "callback"]
    assert not pumping.done()
    feed.end()
    assert await asyncio.wait_for(pumping, 1) is True
    await sender.aclose()


async def test_a_socket_without_room_gets_the_newest_answer_when_it_has_room_again() -> None:
    wire = RecordingWire()
    sender = sender_of(wire, capacity=1)
    feed = Subscriber(_Engine(), None)  # type: ignore[arg-type]
    pumping = asyncio.create_task(FeedPump(feed, sender, PREFIX).run())
    await turns()
    wire.open.clear()  # the client stopped reading: the kernel's buffer is full
    feed.offer(b'{"data":1}')
    await turns()
    for n in range(2, 6):
        feed.offer(b'{"data":%d}' % n)
        await turns()
    assert wire.frames == []
    wire.open.set()
    await turns(6)
    # One was being written and one queued (the capacity); of the rest only the newest was kept.
    assert wire.frames == framed(b'{"data":1}', b'{"data":2}', b'{"data":5}')
    feed.end()
    await asyncio.wait_for(pumping, 1)
    await sender.aclose()


async def test_frames_queued_before_a_push_go_out_first() -> None:
    wire = RecordingWire()
    sender = sender_of(wire)
    feed = Subscriber(_Engine(), None)  # type: ignore[arg-type]
    pumping = asyncio.create_task(FeedPump(feed, sender, PREFIX).run())
    await turns()
    wire.open.clear()
    await sender.send(b"ack")  # queued for the writer, which waits for the socket
    await turns()
    feed.offer(b'{"data":1}')
    await turns()
    wire.open.set()
    await turns(6)
    assert wire.frames == [b"ack", *framed(b'{"data":1}')]
    feed.end()
    await asyncio.wait_for(pumping, 1)
    await sender.aclose()


async def test_an_event_stream_that_overflows_while_its_socket_is_full_ends_with_its_error() -> None:
    wire = RecordingWire()
    sender = sender_of(wire, capacity=1)
    stream = EventStream(_StreamGroup(), None, max_queue=4)  # type: ignore[arg-type]
    stream.start_at(None)
    pumping = asyncio.create_task(FeedPump(stream, sender, PREFIX).run())
    await turns()
    stream.deliver([("1", b'{"data":1}'), ("2", b'{"data":2}')], False)
    await turns()
    assert wire.frames == framed(b'{"data":1}', b'{"data":2}')
    wire.open.clear()
    stream.deliver([("3", b'{"data":3}')], False)
    await turns()  # queued for the writer: the socket has no more room
    for n in range(4, 10):  # the fifth waiting is one more than the stream's queue holds
        stream.deliver([(str(n), b'{"data":%d}' % n)], False)
    await asyncio.wait_for(pumping, 1)
    # What was queued before still goes out; then iteration tells the stream's end.
    with pytest.raises(StreamOverflow):
        await anext(aiter(stream))
    wire.open.set()
    await turns(6)
    assert wire.frames == framed(b'{"data":1}', b'{"data":2}', b'{"data":3}')
    await sender.aclose()


async def test_a_turn_frames_at_most_its_budget_and_the_rest_follow_in_later_turns() -> None:
    wire = RecordingWire()
    budget = TurnBudget(frames_per_turn=3)
    senders = []
    feeds = []
    pumps = []
    for _ in range(7):
        sender = SocketSender(None, 4, turns=budget, wire=wire)  # type: ignore[arg-type]
        sender.start()
        feed = Subscriber(_Engine(), None)  # type: ignore[arg-type]
        pumps.append(asyncio.create_task(FeedPump(feed, sender, PREFIX).run()))
        senders.append(sender)
        feeds.append(feed)
    await turns()
    for feed in feeds:
        feed.offer(b'{"data":0}')
    written = []
    for _ in range(4):
        await asyncio.sleep(0)
        written.append(len(wire.frames))
    assert written == [3, 6, 7, 7]  # at most three a turn, from the turn after the change
    for feed in feeds:
        feed.end()
    assert await asyncio.wait_for(asyncio.gather(*pumps), 1) == [True] * 7
    for sender in senders:
        await sender.aclose()
