"""The subscription bench's load: thousands of graphql-transport-ws subscribers in one asyncio
process, and the writes.

Each subscriber is its own WebSocket (its own connection, as a browser tab would have), with
its own token in ``connection_init`` and one subscription. What it keeps is what the report
needs, and no more: the number of messages, the newest one (to compare with a fresh query at the
end), the consecutive repeats (a live query must not send the same result twice), and the write
time each message reflects, read from the data itself (``createdAt`` of the newest order in a list,
``occurredAt`` of an event; a dashboard's total order count is matched to the writes afterwards),
next to the wall-clock time it arrived. Client, server and PostgreSQL share one machine, so their
clocks are one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from bench.load import HttpConnection, graphql_request
from bench.subscription_socket import LeanSocket, SocketClosed

PROTOCOL = "graphql-transport-ws"
OPEN_TIMEOUT = 60.0
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
PONG = orjson.dumps({"type": "pong"})


@dataclass
class Subscriber:
    kind: str  # dashboard, customer, rep, events
    token: str
    document: str
    variables: dict[str, Any]
    # What the subscriber saw.
    messages: int = 0
    repeats: int = 0  # a message byte for byte equal to the previous one
    last: bytes | None = None  # the newest message, as sent (its whole frame)
    first_at: float | None = None
    subscribed_at: float | None = None  # when its subscribe message was sent
    newest_stamp: float = 0.0  # the newest write time seen in a list (seconds since the epoch)
    latencies: list[float] = field(default_factory=list)  # seconds, write time → arrival
    totals: list[tuple[float, int]] = field(default_factory=list)  # dashboards: (arrival, total count)
    event_ids: list[str] = field(default_factory=list)  # event streams: entity ids, in arrival order
    event_arrivals: list[float] = field(default_factory=list)  # when each of ``event_ids`` arrived
    failure: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def _orders_in(payload: dict[str, Any]) -> list[dict[str, Any]]:
    data = payload.get("data") or {}
    connection = next(iter(data.values()), None) or {}
    return connection.get("nodes") or []


def _event_in(payload: dict[str, Any]) -> dict[str, Any]:
    """The event of an event stream's message, wherever the selection puts its fields."""
    data = payload.get("data") or {}
    event = next(iter(data.values()), None) or {}
    for nested in ("node", "event"):
        if isinstance(event.get(nested), dict):
            return {**event, **event[nested]}
    return event


def record(subscriber: Subscriber, payload: dict[str, Any], frame: bytes, arrived: float) -> None:
    """One ``next`` message (``frame``, its ``payload`` parsed), as it arrived. Two frames of one
    subscription are equal exactly when their payloads are (the same id and type around them)."""
    subscriber.messages += 1
    if subscriber.last == frame and subscriber.kind != "events":
        subscriber.repeats += 1
    subscriber.last = frame
    first = subscriber.first_at is None
    if first:
        subscriber.first_at = arrived
    if subscriber.kind in ("customer", "rep"):
        stamps = [epoch(order["createdAt"]) for order in _orders_in(payload)]
        newest = max(stamps, default=0.0)
        if newest > subscriber.newest_stamp:
            if not first:
                subscriber.latencies.append(arrived - newest)
            subscriber.newest_stamp = newest
    elif subscriber.kind == "dashboard":
        groups = next(iter((payload.get("data") or {}).values()), None) or []
        subscriber.totals.append((arrived, sum(group["count"] for group in groups)))
    else:
        event = _event_in(payload)
        if "entityId" in event:
            subscriber.event_ids.append(event["entityId"])
            subscriber.event_arrivals.append(arrived)
        if "occurredAt" in event:
            subscriber.latencies.append(arrived - epoch(event["occurredAt"]))
    if first:
        subscriber.ready.set()


def last_payload(subscriber: Subscriber) -> bytes | None:
    """The newest message's payload as JSON (what a fresh query answers: ``data`` and ``errors``)."""
    if subscriber.last is None:
        return None
    return orjson.dumps(orjson.loads(subscriber.last)["payload"])


class _Reader:
    """One subscriber's graphql-transport-ws messages, handled as the socket parses them."""

    def __init__(self, subscriber: Subscriber, operation_id: str) -> None:
        self.subscriber, self.operation_id = subscriber, operation_id
        loop = asyncio.get_running_loop()
        self.acked: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[None] = loop.create_future()  # the server ended the subscription
        self.socket: LeanSocket | None = None

    def __call__(self, frame: bytes) -> None:
        try:
            self._take(frame)
        except Exception as error:  # a message the bench cannot read ends this subscriber, not the loop
            self._end(f"unreadable message: {type(error).__name__}: {error}"[:300])

    def _take(self, frame: bytes) -> None:
        message = orjson.loads(frame)
        kind = message.get("type")
        if kind == "next" and message.get("id") == self.operation_id:
            record(self.subscriber, message["payload"], frame, time.time())
        elif kind == "ping":
            if self.socket is not None:
                self.socket.send_text(PONG)
        elif kind == "connection_ack" and not self.acked.done():
            self.acked.set_result(None)
        elif not self.acked.done():
            self.acked.set_exception(RuntimeError(f"expected connection_ack, got {message}"))
        elif kind == "error":
            self._end(f"error: {orjson.dumps(message.get('payload')).decode()[:300]}")
        elif kind == "complete":
            messages = self.subscriber.messages
            self._end(self.subscriber.failure or f"the server completed the subscription after {messages}")

    def _end(self, failure: str) -> None:
        self.subscriber.failure = failure
        self.subscriber.ready.set()
        if not self.ended.done():
            self.ended.set_result(None)


async def _first(*futures: asyncio.Future[None]) -> None:
    """Waits until one of ``futures`` is done (its exception raised)."""
    done, _ = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
    for future in done:
        future.result()


async def subscribe(url: str, subscriber: Subscriber, admission: asyncio.Semaphore, stop: asyncio.Event) -> None:
    """Holds one subscriber's socket until ``stop`` is set (or the server ends it)."""
    reader = _Reader(subscriber, "1")
    socket: LeanSocket | None = None
    stopped = asyncio.ensure_future(stop.wait())
    try:
        async with admission, asyncio.timeout(OPEN_TIMEOUT):
            socket = await LeanSocket.open(url, PROTOCOL, MAX_MESSAGE_BYTES, reader)
            reader.socket = socket
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {subscriber.token}"}}
            socket.send_text(orjson.dumps(init))
            await _first(reader.acked, socket.closed)
            if socket.closed.done():
                raise SocketClosed(socket.ws.close_code, socket.ws.close_reason or "before connection_ack")
            request = {"query": subscriber.document, "variables": subscriber.variables}
            socket.send_text(orjson.dumps({"id": "1", "type": "subscribe", "payload": request}))
            subscriber.subscribed_at = time.time()
            if subscriber.kind == "events":
                # A stream from now on has no first message: it is ready once subscribed.
                subscriber.ready.set()
        await _first(stopped, socket.closed, reader.ended)
        if socket.closed.done() and not stop.is_set() and not reader.ended.done():
            raise SocketClosed(socket.ws.close_code, socket.ws.close_reason)
    except SocketClosed as closed:
        if not stop.is_set():
            subscriber.failure = f"closed by the server: {closed}"
    except Exception as error:
        subscriber.failure = f"{type(error).__name__}: {error}"[:300]
    finally:
        stopped.cancel()
        if socket is not None:
            await socket.close()
        subscriber.ready.set()


@dataclass
class Write:
    customer_id: int
    sent: float
    done: float = 0.0
    order_id: str | None = None
    failure: str | None = None


class LoopLag:
    """How late this process's event loop comes around. A message is timed when the loop gets to
    it, so a late loop adds its lateness to every latency measured meanwhile: reported beside
    them, it says how much of a latency is the load process's own."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.every
            await asyncio.sleep(self.every)
            self.lags.append(max(0.0, loop.time() - due))

    async def stop(self) -> list[float]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return self.lags


class Writer:
    """Mutations over keep-alive HTTP connections at a fixed rate (an open loop: a slow answer
    does not delay the next write)."""

    def __init__(self, url: str, token: str, mutation: str, connections: int) -> None:
        from bench.load import check_loopback

        self.host, self.port, self.path = check_loopback(url)
        self.token, self.mutation = token, mutation
        self.connections = [HttpConnection(self.host, self.port, 60.0) for _ in range(connections)]
        self.pool: asyncio.Queue[HttpConnection] = asyncio.Queue()
        for connection in self.connections:
            self.pool.put_nowait(connection)
        self.writes: list[Write] = []

    async def write(self, customer_id: int, variables: dict[str, Any]) -> Write:
        write = Write(customer_id, time.time())
        self.writes.append(write)
        connection = await self.pool.get()
        try:
            request = graphql_request(self.host, self.port, self.path, self.mutation, variables, self.token)
            status, body = await connection.exchange(request)
            write.done = time.time()
            answer = orjson.loads(body) if status == 200 else {"errors": [f"HTTP {status}"]}
            payload = next(iter((answer.get("data") or {}).values()), None) or {}
            if answer.get("errors") or payload.get("errors") or not payload.get("order"):
                write.failure = str(answer.get("errors") or payload.get("errors"))[:300]
            else:
                write.order_id = payload["order"]["id"]
        except Exception as error:
            write.done = time.time()
            write.failure = f"{type(error).__name__}: {error}"[:300]
        finally:
            self.pool.put_nowait(connection)
        return write

    async def run(self, rate: float, seconds: float, next_write: Callable[[int], tuple[int, dict[str, Any]]]) -> None:
        # The server closes keep-alive connections left idle since the last run: start afresh.
        for connection in self.connections:
            await connection.close()
        started = time.perf_counter()
        tasks = []
        for n in range(int(rate * seconds)):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            customer_id, variables = next_write(n)
            tasks.append(asyncio.create_task(self.write(customer_id, variables)))
        await asyncio.gather(*tasks)

    async def close(self) -> None:
        for connection in self.connections:
            await connection.close()


async def fresh_answers(url: str, requests: list[tuple[str, dict[str, Any], str]], workers: int = 16) -> list[bytes]:
    """Each (document, variables, token) answered over HTTP now, as ``{"data", "errors"}`` JSON
    (``extensions`` left out: a live message carries none)."""
    from bench.load import check_loopback

    host, port, path = check_loopback(url)
    answers: list[bytes] = [b""] * len(requests)
    pending = iter(range(len(requests)))

    async def worker() -> None:
        connection = HttpConnection(host, port, 60.0)
        try:
            for i in pending:
                document, variables, token = requests[i]
                status, body = await connection.exchange(graphql_request(host, port, path, document, variables, token))
                answer = orjson.loads(body) if status == 200 else {"errors": [f"HTTP {status}"]}
                answer.pop("extensions", None)
                answers[i] = orjson.dumps(answer)
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(min(workers, len(requests)) or 1)))
    return answers
