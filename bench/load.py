"""Closed-loop load: N workers, each with its own keep-alive connection, one request in flight each.

The HTTP client is raw asyncio streams rather than httpx: the server and this
client share two cores, so every microsecond the client spends per request is
taken from the server. Request bytes are built once; a response is read by its
Content-Length (or chunks) and checked with a byte search for ``"errors"``
instead of being parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

from bench.machine import NO_PARTIES, CpuSample, CpuUse, Parties, cpu_use

# One request: given the request number, perform it; (True when the answer is good, its size in bytes).
Operation = Callable[[int], Awaitable[tuple[bool, int]]]


@dataclass
class Measurement:
    requests: int = 0
    errors: int = 0
    response_bytes: int = 0  # summed over the recorded requests
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cpu: CpuUse | None = None  # cores used during the window, per party
    capped: bool = False  # the window closed early at --max-requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_share(self) -> float:
        return self.errors / self.requests if self.requests else math.nan

    @property
    def mean_bytes(self) -> float:
        return self.response_bytes / self.requests if self.requests else math.nan

    def percentile(self, p: float) -> float:
        """Latency in milliseconds at percentile p (nearest rank)."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] * 1000


async def closed_loop(
    operations: list[Operation],
    warmup: float,
    duration: float,
    max_requests: int,
    parties: Parties = NO_PARTIES,
    grace: float = 30.0,
) -> Measurement:
    """Run one worker per operation: ``warmup`` seconds unrecorded, then a ``duration`` window.

    A request counts when it starts inside the window, so warm-up requests in
    flight when it opens do not inflate the numbers. The window closes early
    once ``max_requests`` have been recorded: a bound on work, not only on time.
    """
    concurrency = len(operations)
    result = Measurement()
    loop = asyncio.get_running_loop()
    window_start = loop.time() + warmup
    window_end = window_start + duration
    closed = asyncio.Event()
    samples: dict[str, CpuSample] = {}

    async def clock() -> None:
        await asyncio.sleep(max(0.0, window_start - loop.time()))
        samples["start"] = CpuSample.take()
        await asyncio.sleep(max(0.0, window_end - loop.time()))
        close_window()

    def close_window() -> None:
        if not closed.is_set():
            samples["end"] = CpuSample.take()
            result.seconds = loop.time() - window_start
            closed.set()

    async def worker(k: int, op: Operation) -> None:
        i = k
        while not closed.is_set():
            measured = loop.time() >= window_start
            t0 = time.perf_counter()
            try:
                ok, size = await op(i)
            except Exception:
                # Whatever failed (connection, timeout, a database error on the
                # floor side), it is one failed request; the errors column shows it.
                ok, size = False, 0
            latency = time.perf_counter() - t0
            if measured:
                result.requests += 1
                result.latencies.append(latency)
                result.errors += not ok
                result.response_bytes += size
                if result.requests >= max_requests:
                    result.capped = True
                    close_window()
            i += concurrency

    clock_task = asyncio.create_task(clock())
    tasks = [asyncio.create_task(worker(k, op)) for k, op in enumerate(operations)]
    # Workers finish their request in flight after the window closes (it
    # started in the window, so it counts); `grace` bounds a hung server.
    _, pending = await asyncio.wait(tasks, timeout=warmup + duration + grace)
    for task in [*pending, clock_task]:
        task.cancel()
    await asyncio.gather(*pending, clock_task, return_exceptions=True)
    if "end" not in samples:
        close_window()
    if "start" in samples:
        result.cpu = cpu_use(samples["start"], samples["end"], parties)
    return result


# -- HTTP ------------------------------------------------------------------------


def check_loopback(url: str) -> tuple[str, int, str]:
    """(host, port, path) of an http:// URL that resolves only to loopback addresses."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise SystemExit(f"bench: only plain http:// URLs are supported, got {url!r}")
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except socket.gaierror as error:
        raise SystemExit(f"bench: cannot resolve {host}: {error.strerror}") from None
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        # The load is meant for a server on this machine: a remote target would
        # measure the network, and hammering someone else's server is not a benchmark.
        raise SystemExit(f"bench: {host} is not a loopback address; the bench only loads a local server")
    return host, port, parts.path or "/"


def graphql_request(host: str, port: int, path: str, query: str, variables: dict, token: str) -> bytes:
    body = orjson.dumps({"query": query, "variables": variables})
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(self._exchange(request), self.timeout)
        except BaseException:
            # A half-read response would poison the next one: start afresh.
            await self.close()
            raise

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        assert self.reader is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, chunked, close = None, False, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            body = await self._read_chunks()
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            close = True
        if close:
            await self.close()
        return status, body

    async def _read_chunks(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def post_once(
    url: str, query: str, variables: dict, token: str, request_timeout: float = 60.0
) -> tuple[int, int, dict]:
    """One request: (status, body size, parsed body), for the preflight check and the data comparison."""
    host, port, path = check_loopback(url)
    connection = HttpConnection(host, port, request_timeout)
    try:
        status, body = await connection.exchange(graphql_request(host, port, path, query, variables, token))
    finally:
        await connection.close()
    try:
        return status, len(body), orjson.loads(body)
    except orjson.JSONDecodeError:
        return status, len(body), {"errors": [{"message": f"HTTP {status}: {body[:200]!r}"}]}


async def measure_http(
    url: str,
    query: str,
    variables: list[dict],
    concurrency: int,
    warmup: float,
    duration: float,
    max_requests: int,
    request_timeout: float,
    token: str,
    parties: Parties = NO_PARTIES,
) -> Measurement:
    host, port, path = check_loopback(url)
    requests = [graphql_request(host, port, path, query, v, token) for v in variables]
    connections = [HttpConnection(host, port, request_timeout) for _ in range(concurrency)]

    def operation(connection: HttpConnection) -> Operation:
        async def op(i: int) -> tuple[bool, int]:
            status, body = await connection.exchange(requests[i % len(requests)])
            # The body's top-level keys are only "data" and possibly "errors";
            # a search is enough and costs nothing next to parsing 300 kB.
            return status == 200 and b'"errors"' not in body, len(body)

        return op

    try:
        return await closed_loop([operation(c) for c in connections], warmup, duration, max_requests, parties)
    finally:
        await asyncio.gather(*(c.close() for c in connections))
