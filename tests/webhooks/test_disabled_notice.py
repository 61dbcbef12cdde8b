"""An endpoint the worker disables is news for the organization's admins: the
``webhook_endpoint.disabled`` event becomes an email to each admin who may still sign in,
sent by the same dispatcher as the customer emails."""

from __future__ import annotations

import random

from app.notifications import EmailDispatcher, SmtpSettings
from tests.support.graphql import sql
from tests.support.receiver import receiving
from tests.webhooks.conftest import create_endpoint, create_product, run_until_quiet


async def test_the_admins_get_an_email_when_an_endpoint_is_disabled(
    hooks_client, hooks_settings, admin, worker, database, smtp
):
    dispatcher = EmailDispatcher(
        database,
        SmtpSettings(host=smtp.host, port=smtp.port, timeout_seconds=5),
        default_from="mailer@bizgraph.test",
        rng=random.Random(1),
    )
    await dispatcher.run_once()  # what earlier tests left
    async with receiving() as receiver:
        receiver.answering(then=410)
        await create_endpoint(hooks_client, admin, receiver.url)
        await create_product(hooks_client, admin)
        await run_until_quiet(worker)
    await dispatcher.run_once()
    admins = {
        email
        for (email,) in sql(
            hooks_settings.database_url,
            "SELECT email FROM users WHERE org_id = 1 AND 'admin' = ANY(roles) AND disabled_at IS NULL",
        )
    }
    # Earlier tests' endpoints may be disabled too: this endpoint's notices name its URL.
    notices = [
        mail
        for mail in smtp.received
        if mail.subject == "A webhook endpoint was disabled" and receiver.url in mail.part("plain")
    ]
    assert admins and {recipient for mail in notices for recipient in mail.recipients} == admins
    assert "410 Gone" in notices[0].part("plain")
    assert receiver.url in notices[0].part("html")
    # Nobody of the other organization hears of it
    others = {email for (email,) in sql(hooks_settings.database_url, "SELECT email FROM users WHERE org_id = 2")}
    assert not others & {recipient for mail in notices for recipient in mail.recipients}
