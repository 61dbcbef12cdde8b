"""How much SQL one request costs, measured in-process without touching the running server.

The workload's document is posted to a second, in-process copy of the app
(``create_app`` on the same database, through ``httpx.ASGITransport``). Two
counts per request:

- statements: what SQLAlchemy executes (a ``before_cursor_execute`` listener),
  the number the planner promises stays constant (DESIGN.md §5);
- round trips: what actually crosses the wire, counted by a tiny PostgreSQL
  protocol proxy in front of the database: every simple Query and every Sync of
  the extended protocol is one wait for the server. This also sees what no
  cursor event reports: the pool's pre-ping, BEGIN and COMMIT.

The statements of the last request are kept (SQL and parameters) for EXPLAIN.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bench.workloads import Workload

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


@dataclass
class StatementCount:
    statements: float = 0.0
    round_trips: float | None = None
    wire: list[str] = field(default_factory=list)  # one line per round trip of the last request
    sql: list[tuple[str, Any]] = field(default_factory=list)
    error: str | None = None


class WireLog:
    """Client→server messages of the PostgreSQL protocol, condensed into round trips."""

    def __init__(self) -> None:
        self.round_trips: list[str] = []
        self._pending: str | None = None  # what the current extended-protocol batch runs

    def message(self, kind: int, payload: bytes) -> None:
        if kind == ord("Q"):
            self.round_trips.append(f"simple query {_cstring(payload, 0)[0]!r}")
        elif kind == ord("P"):
            _statement_name, at = _cstring(payload, 0)
            self._pending = _cstring(payload, at)[0]
        elif kind == ord("B") and self._pending is None:
            _portal, at = _cstring(payload, 0)
            self._pending = f"prepared statement {_cstring(payload, at)[0]}"
        elif kind == ord("S"):
            self.round_trips.append(f"extended {self._pending or '(sync only)'!r}")
            self._pending = None


def _cstring(data: bytes, start: int) -> tuple[str, int]:
    end = data.index(b"\0", start)
    return data[start:end].decode("utf-8", "replace"), end + 1


class WireProxy:
    """Forwards TCP to PostgreSQL and feeds what the client sends to a ``WireLog``."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.log = WireLog()
        self.server: asyncio.Server | None = None
        self.listen_port = 0
        self._handlers: set[asyncio.Task] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.listen_port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        # The app's pool is disposed by now; end any connection still open so
        # no handler outlives the proxy (or the event loop).
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            upstream_r, upstream_w = await asyncio.open_connection(self.host, self.port)
            await asyncio.gather(self._client_to_server(client_r, upstream_w), _copy(upstream_r, client_w))
        except (asyncio.CancelledError, OSError):
            # Stopped by stop(), or one side hung up: either way this
            # connection is over; returning normally keeps asyncio's stream
            # machinery from logging the cancellation as an error.
            pass
        finally:
            client_w.close()
            self._handlers.discard(task)

    async def _client_to_server(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer = bytearray()
        started = False  # the startup packet has no type byte; every later message has one
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                buffer += data
                while True:
                    if not started:
                        if len(buffer) < 8 or len(buffer) < int.from_bytes(buffer[:4], "big"):
                            break
                        length = int.from_bytes(buffer[:4], "big")
                        code = int.from_bytes(buffer[4:8], "big")
                        # sslmode/gssencmode=disable, but skip their requests anyway.
                        started = code not in (SSL_REQUEST, GSSENC_REQUEST)
                        del buffer[:length]
                        continue
                    if len(buffer) < 5:
                        break
                    length = int.from_bytes(buffer[1:5], "big")
                    if len(buffer) < 1 + length:
                        break
                    self.log.message(buffer[0], bytes(buffer[5 : 1 + length]))
                    del buffer[: 1 + length]
                await writer.drain()
        finally:
            writer.close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def in_process_app(database_url: str) -> AsyncIterator[tuple[Any, WireProxy | None]]:
    """The app on DATABASE_URL (through the wire proxy when it is a TCP address)."""
    from app.auth.keys import write_new_es256_key
    from app.config import Settings
    from app.server import create_app

    url = make_url(database_url).set(drivername="postgresql")
    proxy = None
    if url.host and not url.host.startswith("/") and "host" not in url.query:
        proxy = WireProxy(url.host, url.port or 5432)
        await proxy.start()
        # The proxy parses cleartext messages: no TLS or GSS encryption on this hop.
        url = url.set(host="127.0.0.1", port=proxy.listen_port).update_query_dict(
            {"sslmode": "disable", "gssencmode": "disable"}
        )
    # Q3 asks for 1000 rows; the count must not trip on the default cap.
    settings = replace(Settings.from_env(), demo=True, max_page_size=1000).with_database(
        url.render_as_string(hide_password=False)
    )
    key_dir = None
    if not settings.signing_keys:
        # This copy only needs to accept the tokens it signs itself: a throwaway key.
        key_dir = tempfile.TemporaryDirectory()
        settings = replace(settings, signing_keys=(write_new_es256_key(Path(key_dir.name) / "bench.pem"),))
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            yield app, proxy
    finally:
        if proxy is not None:
            await proxy.stop()
        if key_dir is not None:
            key_dir.cleanup()


async def user_token(app: Any, email: str) -> str:
    """A user's token, signed by the in-process app (the same claims the server would issue)."""
    from resolvers.accounts.store import login_candidates

    async with app.state.database.read() as connection:
        [user] = await login_candidates(connection, email)
    token = app.state.auth.issuer.for_user(
        user_id=user.user_id,
        email=user.email,
        org_id=user.org_id,
        org_slug=user.org_slug,
        roles=user.roles,
        client_id="bizgraph-dev",
        employee_id=user.employee_id,
        customer_id=user.customer_id,
    )
    return token.access_token


REPEAT = 3  # requests averaged per workload; the last one's SQL is the one kept


def last_variant(workload: Workload) -> int:
    """Index of the variables the kept SQL was run with (request i uses variant i)."""
    return REPEAT % len(workload.variables)


async def count(
    database_url: str, workloads: list[Workload], email: str, repeat: int = REPEAT
) -> dict[str, StatementCount]:
    """Statements and round trips per request, as the user ``email`` (the bench's principal),
    averaged over ``repeat`` requests after a warm-up."""
    counts: dict[str, StatementCount] = {}
    async with in_process_app(database_url) as (app, proxy):
        headers = {"Authorization": f"Bearer {await user_token(app, email)}"}
        engine = app.state.database.engine.sync_engine
        seen: list[tuple[str, Any]] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", record)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://bench.local", headers=headers) as client:
                for workload in workloads:
                    counts[workload.key] = await _count_one(client, workload, seen, proxy, repeat)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return counts


async def _count_one(
    client: httpx.AsyncClient, workload: Workload, seen: list, proxy: WireProxy | None, repeat: int
) -> StatementCount:
    async def post(i: int) -> str | None:
        body = {"query": workload.query, "variables": workload.variables[i % len(workload.variables)]}
        response = await client.post("/graphql", json=body)
        payload = response.json()
        # Errors next to data (a principal's FORBIDDEN fields) are part of the answer, not a failure.
        return str(payload.get("errors")) if payload.get("data") is None else None

    # The first request opens the pooled connection (SQLAlchemy's dialect
    # start-up queries) and fills the plan caches: not a request's cost.
    if error := await post(0):
        return StatementCount(error=error)
    statements = trips = 0
    result = StatementCount()
    for i in range(1, repeat + 1):
        seen.clear()
        if proxy is not None:
            proxy.log.round_trips.clear()
        if error := await post(i):
            return StatementCount(error=error)
        statements += len(seen)
        result.sql = list(seen)
        if proxy is not None:
            trips += len(proxy.log.round_trips)
            result.wire = list(proxy.log.round_trips)
    result.statements = statements / repeat
    result.round_trips = trips / repeat if proxy is not None else None
    return result
