"""The email dispatcher: from committed events to sent emails, at least once.

One pass (``run_once``) goes through every organization, each in transactions
of its own (row-level security confines them to it):

1. expand: new outbox events become deliveries (expand.py), under the
   organization's cursor lock, so several workers never expand the same events;
2. send: each of ``concurrency`` senders claims one due delivery at a time with
   ``FOR UPDATE SKIP LOCKED``, renders and sends it while the row stays locked,
   logs the attempt and either marks it sent, schedules the next attempt
   (app/delivery/retry.py) or gives up. The lock is what keeps two workers from
   sending one email at once; a worker that dies mid-send leaves its transaction
   to roll back, and the delivery is due again for the next worker (the email may
   then arrive twice, never not at all).

``clock`` (what time it is) and ``rng`` (the retries' jitter) are injectable, so
tests move time forward instead of waiting for a retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.db import Database
from app.delivery.retry import next_attempt_delay
from app.notifications.content import load_content
from app.notifications.expand import expand
from app.notifications.render import render_email
from app.notifications.smtp import SmtpResult, SmtpSettings, send

log = logging.getLogger("bizgraph.notifications")

Clock = Callable[[], dt.datetime]

_ORGANIZATIONS = "SELECT id FROM bizgraph_organizations()"
_CLAIM = """
SELECT d.id, d.kind, d.recipient, d.entity_id, d.attempts, e.payload
FROM email_deliveries d JOIN outbox e ON e.id = d.event_id
WHERE d.org_id = %(org)s AND d.status = 'pending' AND d.next_attempt_at <= %(now)s
ORDER BY d.next_attempt_at, d.id
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
"""
_LOG_ATTEMPT = """
INSERT INTO email_attempts (org_id, delivery_id, attempt_no, attempted_at, outcome, smtp_code, smtp_response,
                            latency_ms)
VALUES (%(org)s, %(delivery)s, %(attempt_no)s, %(at)s, %(outcome)s, %(code)s, %(response)s, %(latency)s)
"""
_SETTLE = """
UPDATE email_deliveries
SET status = %(status)s, attempts = %(attempt_no)s, next_attempt_at = %(next)s, reason = %(reason)s,
    subject = coalesce(%(subject)s, subject), sent_at = %(sent_at)s, updated_at = %(at)s
WHERE id = %(delivery)s
"""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    recipient: str
    entity_id: int
    attempts: int
    payload: dict[str, Any]


class EmailDispatcher:
    def __init__(
        self,
        database: Database,
        smtp: SmtpSettings,
        *,
        default_from: str,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        concurrency: int = 4,
        expand_batch: int = 500,
        poll_seconds: float = 1.0,
    ) -> None:
        self.database = database
        self.smtp = smtp
        self.default_from = default_from
        self.clock = clock
        self.rng = rng or random.Random()
        self.concurrency = concurrency
        self.expand_batch = expand_batch
        self.poll_seconds = poll_seconds

    @classmethod
    def from_settings(cls, database: Database, settings: Settings, **options: Any) -> EmailDispatcher:
        """The dispatcher the environment describes (``BIZGRAPH_SMTP_*``, ``BIZGRAPH_MAIL_FROM``)."""
        return cls(database, SmtpSettings.from_settings(settings), default_from=settings.mail_from, **options)

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop`` is set; between passes that found nothing to
        do, wait ``poll_seconds`` (or until stopped). A failing pass (the database is
        away) is logged and tried again after the same wait."""
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                log.exception("email dispatch pass failed; trying again in %.1f s", self.poll_seconds)
                done = 0
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)

    async def run_once(self) -> int:
        """One pass over every organization; the number of send attempts made."""
        async with self.database.read() as connection:
            organizations = [row[0] for row in await connection.exec_driver_sql(_ORGANIZATIONS)]
        attempts = 0
        for org_id in organizations:
            moved = True
            while moved:
                async with self.database.unit_of_work(org_id) as connection:
                    moved = await expand(connection, org_id, self.clock(), self.expand_batch)
            counts = await asyncio.gather(*(self._send_due(org_id) for _ in range(self.concurrency)))
            attempts += sum(counts)
        return attempts

    async def _send_due(self, org_id: int) -> int:
        """Claim and send due deliveries of the organization, one at a time, until none is left."""
        sent = 0
        while await self._send_one(org_id):
            sent += 1
        return sent

    async def _send_one(self, org_id: int) -> bool:
        async with self.database.unit_of_work(org_id) as connection:
            now = self.clock()
            row = (await connection.exec_driver_sql(_CLAIM, {"org": org_id, "now": now})).mappings().first()
            if row is None:
                return False
            claimed = _Claimed(**row)
            subject, result = await self._attempt(connection, org_id, claimed, now)
            await self._settle(connection, org_id, claimed, now, subject, result)
            return True

    async def _attempt(
        self, connection: AsyncConnection, org_id: int, claimed: _Claimed, now: dt.datetime
    ) -> tuple[str | None, SmtpResult]:
        try:
            content = await load_content(connection, org_id, claimed.kind, claimed.entity_id, claimed.payload)
            if content is None:
                return None, SmtpResult("error", None, "what the email is about no longer exists", 0, permanent=True)
            message = render_email(
                content,
                kind=claimed.kind,
                recipient=claimed.recipient,
                delivery_id=claimed.id,
                default_from=self.default_from,
                now=now,
            )
        except Exception as error:
            # A bug in a template or its data: logged, and retried like a failure (a
            # fix deployed within the retry window still gets the email out).
            log.exception("email delivery %s could not be rendered", claimed.id)
            return None, SmtpResult("error", None, f"rendering failed: {type(error).__name__}", 0)
        return str(message["Subject"]), await send(self.smtp, message)

    async def _settle(
        self,
        connection: AsyncConnection,
        org_id: int,
        claimed: _Claimed,
        now: dt.datetime,
        subject: str | None,
        result: SmtpResult,
    ) -> None:
        attempt_no = claimed.attempts + 1
        await connection.exec_driver_sql(
            _LOG_ATTEMPT,
            {
                "org": org_id,
                "delivery": claimed.id,
                "attempt_no": attempt_no,
                "at": now,
                "outcome": result.outcome,
                "code": result.code,
                "response": result.response,
                "latency": result.latency_ms,
            },
        )
        status, next_at, reason = "sent", None, None
        if result.outcome != "sent":
            delay = None if result.permanent else next_attempt_delay(attempt_no, self.rng)
            if delay is None:
                status, reason = "failed", result.response
            else:
                status, next_at = "pending", now + delay
        await connection.exec_driver_sql(
            _SETTLE,
            {
                "delivery": claimed.id,
                "status": status,
                "attempt_no": attempt_no,
                "next": next_at,
                "reason": reason,
                "subject": subject,
                "sent_at": now if status == "sent" else None,
                "at": now,
            },
        )
        log.info("email %s (%s to %s): attempt %d %s", claimed.id, claimed.kind, claimed.recipient, attempt_no, status)
