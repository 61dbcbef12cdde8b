"""Emails as MIME messages: the subject, a plain-text and an HTML part from the
kind's Jinja2 templates (templates/), the organization's sender and brand, and
for an issued invoice its PDF attached."""

from __future__ import annotations

import datetime as dt
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.documents import render_invoice_pdf
from app.documents.money import amount, money
from app.notifications.content import Content

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Built on first use (nothing happens at import). HTML is escaped, plain text is
    not; a name a template uses but the context lacks is an error, not an empty string."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    env.filters["amount"] = amount
    env.filters["money"] = money
    return env


def render_email(
    content: Content, *, kind: str, recipient: str, delivery_id: int, default_from: str, now: dt.datetime
) -> EmailMessage:
    env = environment()
    context = {
        **content.context,
        "brand": content.brand,
        "kind_label": kind.replace("_", " "),
    }
    subject = env.get_template(f"{kind}.subject.txt").render(context).strip()
    context["subject"] = subject
    message = EmailMessage()
    sender = content.brand.email_from or default_from
    message["From"] = Address(display_name=content.brand.sender_name, addr_spec=sender)
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    # The delivery's id in the Message-ID: a retried email is the same message.
    message["Message-ID"] = make_msgid(idstring=f"delivery-{delivery_id}", domain=sender.rpartition("@")[2])
    message["X-Bizgraph-Delivery"] = str(delivery_id)
    message.set_content(env.get_template(f"{kind}.txt").render(context))
    message.add_alternative(env.get_template(f"{kind}.html").render(context), subtype="html")
    if content.invoice is not None:
        message.add_attachment(
            render_invoice_pdf(content.invoice),
            maintype="application",
            subtype="pdf",
            filename=f"{content.invoice.number}.pdf",
        )
    return message
