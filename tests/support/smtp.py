"""A real SMTP server in process (aiosmtpd) that keeps what it receives, and can
refuse the mail of chosen recipients with a chosen reply."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from app.notifications.mail_folder import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        # A long subject may be folded right after "Subject:"; the parsed value then starts with a space.
        return str(self.message["Subject"]).strip()

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())

    def attachments(self) -> list[EmailMessage]:
        return list(self.message.iter_attachments())  # type: ignore[arg-type]


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    # recipient → the reply its RCPT gets instead of 250 (e.g. "451 4.3.0 try later")
    refuse: dict[str, str] = field(default_factory=dict)
    # Seconds the server takes before it answers DATA (a slow server).
    delay: float = 0.0
    # While set and not released, the server answers no DATA (a server stuck mid-message, for as
    # long as the test needs: a fixed delay can run out first on a busy machine).
    hold: threading.Event | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        hold = self.hold
        if hold is not None:
            # Waited for in a thread of its own: the server's loop goes on serving other sessions.
            await asyncio.to_thread(hold.wait, 30)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 queued as test"


class SmtpSink:
    def __init__(self) -> None:
        self.handler = _Handler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller = Controller(self.handler, hostname=self.host, port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def to(self, recipient: str) -> list[Received]:
        return [r for r in self.received if recipient in r.recipients]

    def refuse(self, recipient: str, reply: str) -> None:
        self.handler.refuse[recipient] = reply

    def accept(self, recipient: str) -> None:
        self.handler.refuse.pop(recipient, None)
