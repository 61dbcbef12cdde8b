"""The dispatcher as a long-running worker: it follows new events until stopped,
and a worker killed mid-send loses nothing."""

from __future__ import annotations

import asyncio
import threading

from tests.notifications.helpers import deliveries, new_customer, place_order
from tests.support.workflow import pk, sql


async def _until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


async def test_run_follows_new_events_until_stopped(mail_client, mail_settings, smtp, make_dispatcher, dispatcher):
    stop = asyncio.Event()
    worker = asyncio.create_task(make_dispatcher(poll_seconds=0.05).run(stop))
    try:
        customer, address = await new_customer(mail_client, mail_settings)
        order = await place_order(mail_client, mail_settings, customer)
        await _until(lambda: smtp.to(address))
        assert order["number"] in smtp.to(address)[0].subject
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=5)
    assert worker.done() and worker.exception() is None


async def test_a_worker_killed_mid_send_loses_nothing(mail_client, mail_settings, smtp, make_dispatcher, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings)
    order = await place_order(mail_client, mail_settings, customer)
    order_pk = pk(order["id"], "Order")
    released = threading.Event()
    smtp.handler.hold = released  # the server does not accept the message until released

    # A send that may not time out before the test kills it: with the usual 5 s, a busy machine
    # once let the held DATA fail first, and the attempt was logged before the cancel came.
    doomed = asyncio.create_task(make_dispatcher(smtp_timeout_seconds=60).run_once())
    await _until(lambda: _claimed(mail_settings, order_pk))
    assert smtp.to(address) == []
    doomed.cancel()
    await asyncio.gather(doomed, return_exceptions=True)
    # Its transaction rolled back: the delivery is pending, no attempt was logged.
    assert deliveries(mail_settings, "Order", order_pk) == [("order_confirmation", address, "pending", 0, None)]

    released.set()
    smtp.handler.hold = None
    await make_dispatcher().run_once()
    assert deliveries(mail_settings, "Order", order_pk) == [("order_confirmation", address, "sent", 1, None)]
    # At least once: the slow server may have kept the first copy too.
    await _until(lambda: len(smtp.to(address)) >= 1)
    assert 1 <= len(smtp.to(address)) <= 2


def _claimed(settings, order_pk: int) -> bool:
    """The order's confirmation exists and a dispatcher's transaction holds its row
    (it is talking to the server): a locking read that skips locked rows finds none."""
    where = "entity_type = 'Order' AND entity_id = %s"
    exists = sql(settings.database_url, f"SELECT count(*) FROM email_deliveries WHERE {where}", order_pk)[0][0]
    free = sql(settings.database_url, f"SELECT id FROM email_deliveries WHERE {where} FOR UPDATE SKIP LOCKED", order_pk)
    return exists == 1 and not free


async def test_a_new_organization_is_mailed_about_from_its_first_event(mail_settings, smtp, dispatcher):
    from tests.notifications.helpers import execute

    url = mail_settings.database_url
    execute(mail_settings, "INSERT INTO organizations (slug, name, currency) VALUES ('initech', 'Initech', 'EUR')")
    ((org,),) = sql(url, "SELECT id FROM organizations WHERE slug = 'initech'")
    try:
        execute(
            mail_settings,
            "INSERT INTO customers (org_id, number, name, kind, email, segment, country, status)"
            " VALUES (%s, 'C-1', 'Bolton Ltd', 'company', 'mike@bolton.example.com', 'consumer', 'US', 'active')",
            org,
        )
        execute(
            mail_settings,
            "INSERT INTO orders (org_id, number, customer_id, status, placed_at, approved_at, subtotal, tax, total)"
            " SELECT %s, 'SO-1', id, 'approved', now(), now(), 0, 0, 0 FROM customers WHERE org_id = %s",
            org,
            org,
        )
        execute(
            mail_settings,
            "INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload)"
            ' SELECT %s, \'order.placed\', \'Order\', id, \'{"number": "SO-1", "status": "approved", "total": "0.00"}\''
            " FROM orders WHERE org_id = %s",
            org,
            org,
        )
        await dispatcher.run_once()
        (mail,) = smtp.to("mike@bolton.example.com")
        assert mail.subject == "Initech: order SO-1 confirmed"
    finally:
        execute(mail_settings, "DELETE FROM organizations WHERE id = %s", org)
