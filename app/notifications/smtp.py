"""Sending one message over SMTP (aiosmtplib), and what the server answered.

Configured from the environment (app/config.py: ``BIZGRAPH_SMTP_*``). A reply
in the 5xx range is a permanent refusal (the address does not exist, the
message is refused): retrying would not help. Anything else that fails (4xx,
a refused or dropped connection, a timeout) is worth another attempt later.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from app.config import Settings


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings:
        tls: Literal["none", "starttls", "tls"] = (
            "tls" if settings.smtp_tls == "tls" else "starttls" if settings.smtp_tls == "starttls" else "none"
        )
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_seconds=settings.smtp_timeout_seconds,
        )


@dataclass(frozen=True)
class SmtpResult:
    """``outcome``: sent, refused (the server said no) or error (no answer to be had);
    ``permanent``: a retry cannot succeed."""

    outcome: Literal["sent", "refused", "error"]
    code: int | None
    response: str
    latency_ms: int
    permanent: bool = False


async def send(settings: SmtpSettings, message: EmailMessage) -> SmtpResult:
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        refused, reply = await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.tls == "tls",
            start_tls=settings.tls == "starttls",
            timeout=settings.timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        first = error.recipients[0]
        return SmtpResult("refused", first.code, first.message, elapsed(), permanent=first.code >= 500)
    except aiosmtplib.SMTPResponseException as error:
        return SmtpResult("refused", error.code, error.message, elapsed(), permanent=error.code >= 500)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        return SmtpResult("error", None, f"{type(error).__name__}: {error}"[:1000], elapsed())
    if refused:
        code, text = next(iter(refused.values()))
        return SmtpResult("refused", code, text, elapsed(), permanent=code >= 500)
    # aiosmtplib returns the text of the reply to DATA; it raises unless the code was 250.
    return SmtpResult("sent", 250, reply, elapsed())
