"""``bizgraph worker``: the dispatcher as its own process, configured from the environment."""

from __future__ import annotations

import asyncio

from app.cli import main
from tests.notifications.helpers import new_customer, place_order


def _worker(monkeypatch, settings, smtp, *args: str) -> int:
    monkeypatch.setenv("DATABASE_URL", settings.database_url.render_as_string(hide_password=False))
    monkeypatch.delenv("BIZGRAPH_DB_ROLE", raising=False)
    monkeypatch.setenv("BIZGRAPH_SMTP_HOST", smtp.host)
    monkeypatch.setenv("BIZGRAPH_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("BIZGRAPH_SMTP_TLS", "none")
    monkeypatch.setenv("BIZGRAPH_MAIL_FROM", "orders@acme-mail.example.com")
    return main(["worker", *args])


async def test_worker_once_sends_what_is_due_through_the_configured_server(
    mail_client, mail_settings, smtp, dispatcher, monkeypatch, capsys
):
    customer, address = await new_customer(mail_client, mail_settings)
    order = await place_order(mail_client, mail_settings, customer)
    capsys.readouterr()

    assert await asyncio.to_thread(_worker, monkeypatch, mail_settings, smtp, "--once") == 0

    (mail,) = smtp.to(address)
    assert order["number"] in mail.subject
    assert mail.sender == "orders@acme-mail.example.com"
    assert capsys.readouterr().out.startswith("worker: ")
    # Nothing is due any more: a second pass sends nothing.
    assert await asyncio.to_thread(_worker, monkeypatch, mail_settings, smtp, "--once") == 0
    assert capsys.readouterr().out.startswith("worker: 0 email(s) attempted; ")
    assert len(smtp.to(address)) == 1


def test_a_bad_tls_mode_is_refused_in_one_line(monkeypatch, capsys, mail_settings):
    monkeypatch.setenv("DATABASE_URL", mail_settings.database_url.render_as_string(hide_password=False))
    monkeypatch.setenv("BIZGRAPH_SMTP_TLS", "sometimes")
    assert main(["worker", "--once"]) != 0
    err = capsys.readouterr().err
    assert "BIZGRAPH_SMTP_TLS must be one of none, starttls, tls" in err and "Traceback" not in err
