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
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.load import HttpConnection, graphql_request

PROTOCOL = "graphql-transport-ws"
OPEN_TIMEOUT = 60.0
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


@dataclass
class Subscriber:
    kind: str  # dashboard, customer, rep, events
    token: str
    document: str
    variables: dict[str, Any]
    # What the subscriber saw.
    messages: int = 0
    repeats: int = 0  # a message byte for byte equal to the previous one
    last: bytes | None = None  # the newest message's payload, as sent
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


def record(subscriber: Subscriber, raw: bytes, arrived: float) -> None:
    """One ``next`` message's payload, as it arrived."""
    subscriber.messages += 1
    if subscriber.last == raw and subscriber.kind != "events":
        subscriber.repeats += 1
    subscriber.last = raw
    payload = orjson.loads(raw)
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


async def _pong_and_read(socket: ClientConnection, subscriber: Subscriber, operation_id: str) -> None:
    async for frame in socket:
        message = orjson.loads(frame)
        kind = message.get("type")
        if kind == "next" and message.get("id") == operation_id:
            record(subscriber, orjson.dumps(message["payload"]), time.time())
        elif kind == "ping":
            await socket.send(orjson.dumps({"type": "pong"}).decode())
        elif kind == "error":
            subscriber.failure = f"error: {orjson.dumps(message.get('payload')).decode()[:300]}"
            subscriber.ready.set()
            return
        elif kind == "complete":
            subscriber.failure = (
                subscriber.failure or f"the server completed the subscription after {subscriber.messages}"
            )
            subscriber.ready.set()
            return


async def subscribe(url: str, subscriber: Subscriber, admission: asyncio.Semaphore, stop: asyncio.Event) -> None:
    """Holds one subscriber's socket until ``stop`` is set (or the server ends it)."""
    try:
        async with admission:
            socket = await connect(
                url,
                subprotocols=[PROTOCOL],  # type: ignore[list-item]
                compression=None,
                open_timeout=OPEN_TIMEOUT,
                ping_interval=None,  # the server pings; the library answers WebSocket pings itself
                max_size=MAX_MESSAGE_BYTES,
                max_queue=None,
                proxy=None,
                user_agent_header=None,
            )
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {subscriber.token}"}}
            await socket.send(orjson.dumps(init).decode())
            ack = orjson.loads(await asyncio.wait_for(socket.recv(), OPEN_TIMEOUT))
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"expected connection_ack, got {ack}")
            request = {"query": subscriber.document, "variables": subscriber.variables}
            await socket.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": request}).decode())
            subscriber.subscribed_at = time.time()
            if subscriber.kind == "events":
                # A stream from now on has no first message: it is ready once subscribed.
                subscriber.ready.set()
        try:
            reader = asyncio.create_task(_pong_and_read(socket, subscriber, "1"))
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if reader.done():
                reader.result()
            else:
                reader.cancel()
            stopped.cancel()
        finally:
            await socket.close()
    except ConnectionClosed as closed:
        if not stop.is_set():
            subscriber.failure = f"closed by the server: {closed.rcvd.code if closed.rcvd else '?'} {closed}"
    except Exception as error:
        subscriber.failure = f"{type(error).__name__}: {error}"[:300]
    finally:
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
