"""A TCP proxy in front of PostgreSQL that counts network round trips.

A round trip is the client sending after it has heard from the server (or
for the first time): everything the client writes before the answer comes
back (a whole pipeline) is one trip, however many messages or packets it takes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.engine import URL


class RoundTripCounter:
    def __init__(self) -> None:
        self.round_trips = 0
        self._client_spoke_last = False

    def client_sent(self) -> None:
        if not self._client_spoke_last:
            self.round_trips += 1
        self._client_spoke_last = True

    def server_sent(self) -> None:
        self._client_spoke_last = False

    def reset(self) -> None:
        self.round_trips = 0


async def _open_upstream(url: URL) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    socket_dir = url.query.get("host")
    if isinstance(socket_dir, str) and socket_dir.startswith("/"):
        return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{url.port or 5432}")
    return await asyncio.open_connection(url.host or "127.0.0.1", url.port or 5432)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, on_data) -> None:
    try:
        while data := await reader.read(65536):
            on_data()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def counting_proxy(url: URL) -> AsyncIterator[tuple[URL, RoundTripCounter]]:
    """``url`` rerouted through the proxy, and the counter of its traffic."""
    counter = RoundTripCounter()
    pumps: set[asyncio.Task] = set()

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await _open_upstream(url)
        for task in (
            asyncio.create_task(_pump(client_reader, upstream_writer, counter.client_sent)),
            asyncio.create_task(_pump(upstream_reader, client_writer, counter.server_sent)),
        ):
            pumps.add(task)
            task.add_done_callback(pumps.discard)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxied = url.set(host="127.0.0.1", port=port, query={k: v for k, v in url.query.items() if k != "host"})
    try:
        yield proxied, counter
    finally:
        server.close()
        for task in list(pumps):
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


class CuttableProxy:
    """A TCP proxy in front of PostgreSQL that can be cut, as a network failure or a
    stopped server would: ``cut()`` closes every connection through it and refuses
    new ones; ``restore()`` listens again on the same port."""

    def __init__(self, url: URL) -> None:
        self.upstream = url
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task] = set()

    @property
    def url(self) -> URL:
        """``upstream`` rerouted through the proxy (a stable address across cuts)."""
        query = {k: v for k, v in self.upstream.query.items() if k != "host"}
        return self.upstream.set(host="127.0.0.1", port=self.port, query=query)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await _open_upstream(self.upstream)
        for task in (
            asyncio.create_task(_pump(client_reader, upstream_writer, lambda: None)),
            asyncio.create_task(_pump(upstream_reader, client_writer, lambda: None)),
        ):
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)


@contextlib.asynccontextmanager
async def cuttable_proxy(url: URL) -> AsyncIterator[CuttableProxy]:
    proxy = CuttableProxy(url)
    await proxy.restore()
    try:
        yield proxy
    finally:
        await proxy.cut()
