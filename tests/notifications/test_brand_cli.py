"""``bizgraph brand``: an organization's sender and brand, set from the command line
and used by its next emails and invoices."""

from __future__ import annotations

import asyncio

from app.cli import main
from tests.notifications.helpers import execute, new_customer, place_order
from tests.support.workflow import sql


def _brand(monkeypatch, settings, *args: str) -> int:
    monkeypatch.setenv("DATABASE_URL", settings.database_url.render_as_string(hide_password=False))
    return main(["brand", *args])


async def test_brand_sets_the_sender_and_brand_of_the_next_emails(
    mail_client, mail_settings, smtp, dispatcher, monkeypatch, capsys
):
    try:
        code = await asyncio.to_thread(
            _brand,
            monkeypatch,
            mail_settings,
            "--org",
            "globex",
            "--sender-name",
            "Globex Rechnungen",
            "--from",
            "rechnung@globex.example.com",
            "--color",
            "#AA3300",
            "--logo-text",
            "GLOBEX",
        )
        assert code == 0
        out = capsys.readouterr().out
        assert "sender-name: 'Globex Rechnungen'" in out and "color: '#aa3300'" in out
        customer, address = await new_customer(mail_client, mail_settings, "globex")
        await place_order(mail_client, mail_settings, customer, "globex")
        await dispatcher.run_once()
    finally:
        execute(
            mail_settings,
            "UPDATE organizations SET email_sender_name = NULL, email_from = NULL, brand_color = '#1f4e79',"
            " brand_logo_text = NULL WHERE slug = 'globex'",
        )
    (mail,) = smtp.to(address)
    sender = mail.message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Globex Rechnungen", "rechnung@globex.example.com")
    assert "#aa3300" in mail.part("html") and "GLOBEX" in mail.part("html")


def test_brand_refuses_bad_values_and_changes_nothing(mail_settings, monkeypatch, capsys):
    before = sql(mail_settings.database_url, "SELECT brand_color, email_from FROM organizations ORDER BY id")
    assert _brand(monkeypatch, mail_settings, "--org", "acme", "--color", "blue") != 0
    assert "--color must be a colour like #1f4e79" in capsys.readouterr().err
    assert _brand(monkeypatch, mail_settings, "--org", "acme", "--from", "not an address") != 0
    assert "--from is not an email address" in capsys.readouterr().err
    assert _brand(monkeypatch, mail_settings, "--org", "nosuch", "--color", "#000000") != 0
    assert "no organization with slug 'nosuch'" in capsys.readouterr().err
    assert sql(mail_settings.database_url, "SELECT brand_color, email_from FROM organizations ORDER BY id") == before
    # Without changes it shows the brand.
    assert _brand(monkeypatch, mail_settings, "--org", "acme") == 0
    assert "postal-address: '100 Market Street\\nSuite 400\\nBoston, MA 02110\\nUS'" in capsys.readouterr().out
