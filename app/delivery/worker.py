"""The delivery worker: ``bizgraph worker`` runs ``Worker.run`` until told to stop.

One loop per process. Each round visits organizations: turns their new outbox events
into deliveries (``fanout``), claims due deliveries up to the free room of this
process (``claims``), and starts one task per claimed delivery. A round starts when
an event commits (the outbox's NOTIFY, alembic 0004, names its organization), when
a delivery finishes (its endpoint may have room, its entity's next event may be
due), and at least every ``poll_ms`` for retries that came due. Any number of
workers may run, on any number of machines: claims keep them apart.

Time comes from ``clock`` and jitter from ``rng``, so tests move time forward
instead of waiting hours for a retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Callable

import httpx
import orjson
import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import libpq_conninfo
from app.db import Database
from app.delivery import messages, transport
from app.delivery.claims import Claimed, claim_due
from app.delivery.fanout import fan_out
from app.delivery.outcomes import record
from app.delivery.secrets import SecretBox
from app.delivery.settings import WebhookSettings
from app.delivery.targets import TargetRefused, check_url, resolve

log = logging.getLogger("bizgraph.worker")

Clock = Callable[[], dt.datetime]
EVENTS_CHANNEL = "bizgraph_events"
# How often the list of organizations is read again.
ORGANIZATIONS_EVERY = dt.timedelta(seconds=30)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Worker:
    def __init__(
        self,
        database: Database,
        settings: WebhookSettings,
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        client: httpx.AsyncClient | None = None,
        listen_url: URL | None = None,
    ) -> None:
        self.database = database
        # LISTEN holds a session: it must reach PostgreSQL directly, never a transaction pooler.
        self.listen_url = listen_url or database.url
        self.settings = settings
        self.clock = clock
        self.rng = rng
        self.box = SecretBox(settings.secret_keys)
        self.client = client or transport.new_client(connections=settings.worker_concurrency)
        self._organizations: list[int] = []
        self._organizations_read: dt.datetime | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._due: set[int] = set()  # organizations to claim for in the next round
        self._notified: set[int] = set()  # organizations with new events: fan out first

    async def organizations(self) -> list[int]:
        now = self.clock()
        if self._organizations_read is None or now - self._organizations_read > ORGANIZATIONS_EVERY:

            async def read(connection: AsyncConnection) -> list[int]:
                # A definer function (alembic 0003): the one look-up that crosses organizations.
                result = await connection.exec_driver_sql("SELECT id FROM bizgraph_organizations()")
                return [int(value) for value in result.scalars().all()]

            self._organizations = await self.database.reading(read)
            self._organizations_read = now
        return self._organizations

    async def fan_out(self, org_id: int) -> int:
        async with self.database.unit_of_work(org_id) as connection:
            return await fan_out(connection, org_id, self.clock())

    async def claim(self, org_id: int, limit: int) -> list[Claimed]:
        if limit <= 0:
            return []
        async with self.database.unit_of_work(org_id) as connection:
            return await claim_due(
                connection, org_id, self.clock(), limit, grace_seconds=self.settings.lease_grace_seconds
            )

    async def deliver(self, claimed: Claimed) -> str | None:
        """POST one claimed delivery and record how it went; its new status."""
        started = self.clock()
        content = messages.body(claimed)
        try:
            target = check_url(claimed.url, allow_http=self.settings.allow_http)
            address = await resolve(target, self.settings.allowed_networks)
        except TargetRefused as refused:
            response = transport.Response(None, 0, b"", f"target refused: {refused}")
        else:
            secrets = [self.box.open(sealed) for sealed in claimed.sealed_secrets]
            response = await transport.post(
                self.client,
                target,
                address,
                messages.headers(claimed, secrets, started, content),
                content,
                timeout_seconds=claimed.timeout_seconds,
                max_bytes=self.settings.max_response_bytes,
            )
        async with self.database.unit_of_work(claimed.org_id) as connection:
            return await record(connection, claimed, response, started=started, now=self.clock(), rng=self.rng)

    async def round(self, organizations: list[int], fan_out: list[int] | None = None) -> list[Claimed]:
        """Fan out (for ``fan_out``, by default all of them) and claim for these organizations,
        up to this process's free room."""
        claimed: list[Claimed] = []
        for org_id in organizations if fan_out is None else fan_out:
            await self.fan_out(org_id)
        for org_id in organizations:
            room = self.settings.worker_concurrency - len(self._inflight) - len(claimed)
            claimed.extend(await self.claim(org_id, room))
        return claimed

    async def run_once(self) -> int:
        """One round over every organization, waiting for every delivery it started
        (tests and ``bizgraph worker --once``); how many attempts it made."""
        claimed = await self.round(await self.organizations())
        await asyncio.gather(*(self.deliver(one) for one in claimed))
        return len(claimed)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; then let running deliveries finish."""
        listener = asyncio.create_task(self._listen(stop))
        try:
            loop = asyncio.get_running_loop()
            next_full_round = loop.time()
            while not stop.is_set():
                self._wake.clear()  # a wake during the round below starts the next one at once
                try:
                    every = await self.organizations()
                    if loop.time() >= next_full_round or not (self._due or self._notified):
                        # At least every poll interval every organization is visited, for retries
                        # that came due, however busy the ones that NOTIFY are.
                        due, fan_out, next_full_round = every, every, loop.time() + self.settings.poll_ms / 1000
                    else:
                        # New events need a fan-out; a finished delivery only a claim (its
                        # endpoint has room, its entity's next event may be due).
                        due, fan_out = sorted(self._due | self._notified), sorted(self._notified)
                    self._due.clear()
                    self._notified.clear()
                    for claimed in await self.round(due, fan_out):
                        self._start(claimed)
                except (DBAPIError, psycopg.OperationalError, OSError) as error:
                    log.warning("worker round failed, trying again: %s", error)
                stopping = asyncio.create_task(stop.wait())
                waking = asyncio.create_task(self._wake.wait())
                await asyncio.wait(
                    {stopping, waking}, timeout=self.settings.poll_ms / 1000, return_when=asyncio.FIRST_COMPLETED
                )
                for task in (stopping, waking):
                    task.cancel()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            if self._inflight:
                await asyncio.wait(self._inflight)

    def _start(self, claimed: Claimed) -> None:
        task = asyncio.create_task(self._deliver_and_wake(claimed))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _deliver_and_wake(self, claimed: Claimed) -> None:
        try:
            await self.deliver(claimed)
        except Exception:
            # The lease runs out and another round (or worker) tries again.
            log.exception("delivery %s failed to record", claimed.delivery_id)
        self._due.add(claimed.org_id)
        self._wake.set()

    async def _listen(self, stop: asyncio.Event) -> None:
        """Wake a round when an event commits; polling covers any gap while reconnecting."""
        conninfo = libpq_conninfo(self.listen_url)
        while not stop.is_set():
            try:
                connection = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
                async with connection:
                    await connection.execute(f"LISTEN {EVENTS_CHANNEL}")
                    async for notice in connection.notifies():
                        with contextlib.suppress(ValueError, KeyError, TypeError):
                            self._notified.add(int(orjson.loads(notice.payload)["org_id"]))
                        self._wake.set()
            except (psycopg.OperationalError, OSError) as error:
                log.warning("event listener lost its connection, reconnecting: %s", error)
                await asyncio.sleep(1)

    async def close(self) -> None:
        await self.client.aclose()
