"""Customer and staff emails, end to end: business events through the public API, the
dispatcher, a real SMTP server in process, and the email log in GraphQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

from app.notifications import SmtpSettings
from app.notifications.mail_folder import free_port
from tests.notifications.helpers import (
    UPDATE_CUSTOMER,
    assert_pdf_matches,
    deliveries,
    issue_invoice,
    new_customer,
    pdf_text,
    place_order,
    record_payment,
    sweep,
)
from tests.support.employees import run as run_employee
from tests.support.workflow import data, gid, mutate, pk, sql, token

DELIVERIES = """
query($filter: EmailDeliveryFilter) {
  emailDeliveries(first: 100, filter: $filter) {
    nodes { id kind recipient status reason subject attempts nextAttemptAt sentAt eventType entityId
            event { type }
            attemptLog { nodes { attemptNo attemptedAt outcome smtpCode smtpResponse latencyMs } } }
  }
}"""


async def test_placing_an_order_mails_the_customer_a_confirmation(mail_client, mail_settings, smtp, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings)
    order = await place_order(mail_client, mail_settings, customer, lines=2)

    assert await dispatcher.run_once() >= 1

    (mail,) = smtp.to(address)
    assert mail.recipients == [address]
    assert mail.subject == f"Acme Corporation: order {order['number']} confirmed"
    assert mail.message["From"].addresses[0].addr_spec == "mailer@bizgraph.test"
    assert mail.message["From"].addresses[0].display_name == "Acme Corporation"
    text, html = mail.part("plain"), mail.part("html")
    ((subtotal, tax, total),) = sql(
        mail_settings.database_url, "SELECT subtotal, tax, total FROM orders WHERE id = %s", pk(order["id"], "Order")
    )
    for part in (text, html):
        assert order["number"] in part
        assert f"{total:,.2f} USD" in part and f"{subtotal:,.2f} USD" in part and f"{tax:,.2f} USD" in part
    skus = sql(
        mail_settings.database_url,
        "SELECT p.sku FROM order_lines l JOIN products p ON p.id = l.product_id WHERE l.order_id = %s",
        pk(order["id"], "Order"),
    )
    assert len(skus) == 2 and all(sku in text and sku in html for (sku,) in skus)
    assert "<table" in html and "<table" not in text
    assert mail.attachments() == []
    assert deliveries(mail_settings, "Order", pk(order["id"], "Order")) == [
        ("order_confirmation", address, "sent", 1, None)
    ]


async def test_an_issued_invoice_is_mailed_with_its_pdf(mail_client, mail_settings, smtp, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings)
    order = await place_order(mail_client, mail_settings, customer, lines=3)
    invoice = await issue_invoice(mail_client, mail_settings, order["id"])
    invoice_pk = pk(invoice["id"], "Invoice")

    await dispatcher.run_once()

    (mail,) = [m for m in smtp.to(address) if "invoice" in m.subject]
    assert mail.subject == f"Acme Corporation: invoice {invoice['number']} for {Decimal(invoice['total']):,.2f} USD"
    assert invoice["number"] in mail.part("plain") and invoice["number"] in mail.part("html")
    (attachment,) = mail.attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{invoice['number']}.pdf"
    assert_pdf_matches(pdf_text(attachment.get_content()), mail_settings, invoice_pk)


async def test_a_payment_is_receipted_and_the_admins_see_the_log(mail_client, mail_settings, smtp, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings)
    order = await place_order(mail_client, mail_settings, customer)
    invoice = await issue_invoice(mail_client, mail_settings, order["id"])
    await record_payment(mail_client, mail_settings, invoice["id"], "10.00")

    await dispatcher.run_once()

    (receipt,) = [m for m in smtp.to(address) if "payment" in m.subject]
    due = Decimal(invoice["total"]) - Decimal("10.00")
    assert receipt.subject == f"Acme Corporation: payment of 10.00 USD received for invoice {invoice['number']}"
    assert f"Still due on the invoice: {due:,.2f} USD" in receipt.part("plain")

    log = await data(
        mail_client, DELIVERIES, {"filter": {"recipient": {"eq": address}}}, token=token(mail_settings, "admin")
    )
    kinds = {node["kind"]: node for node in log["emailDeliveries"]["nodes"]}
    assert set(kinds) == {"ORDER_CONFIRMATION", "INVOICE_ISSUED", "PAYMENT_RECEIPT"}
    paid = kinds["PAYMENT_RECEIPT"]
    assert paid["status"] == "SENT" and paid["attempts"] == 1 and paid["subject"] == receipt.subject
    assert paid["eventType"] == "invoice.payment_recorded" and paid["event"] == {"type": "invoice.payment_recorded"}
    assert paid["entityId"] == invoice["id"]
    (attempt,) = paid["attemptLog"]["nodes"]
    assert attempt["outcome"] == "SENT" and attempt["smtpCode"] == 250 and attempt["attemptNo"] == 1
    assert "queued as test" in attempt["smtpResponse"] and attempt["latencyMs"] >= 0


async def test_only_admins_read_the_email_log(mail_client, mail_settings, dispatcher):
    for role in ("finance", "sales", "hr", "analyst", "manager", "employee", "customer"):
        body = await data(mail_client, DELIVERIES, {}, token=token(mail_settings, role))
        assert body["emailDeliveries"]["nodes"] == [], role
    seen = await data(mail_client, DELIVERIES, {}, token=token(mail_settings, "admin"))
    assert seen["emailDeliveries"]["nodes"]


async def test_the_overdue_sweep_sends_a_reminder(mail_client, mail_settings, smtp, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings, terms=0)
    order = await place_order(mail_client, mail_settings, customer)
    invoice = await issue_invoice(mail_client, mail_settings, order["id"])
    await asyncio.sleep(0.01)  # due the moment it was issued: now it is past due
    assert await sweep(mail_client, mail_settings) >= 1

    await dispatcher.run_once()

    (reminder,) = [m for m in smtp.to(address) if "overdue" in m.subject]
    assert reminder.subject == f"Acme Corporation: invoice {invoice['number']} is overdue"
    assert f"{Decimal(invoice['total']):,.2f} USD" in reminder.part("plain")
    assert f"{Decimal(invoice['total']):,.2f} USD" in reminder.part("html")


async def test_a_customer_who_opted_out_gets_none_of_that_kind(mail_client, mail_settings, smtp, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings)
    ((version,),) = sql(mail_settings.database_url, "SELECT version FROM customers WHERE id = %s", customer)
    changed = await mutate(
        mail_client,
        UPDATE_CUSTOMER,
        {"input": {"id": gid("Customer", customer), "version": version, "emailOptOuts": ["ORDER_CONFIRMATION"]}},
        token(mail_settings, "finance"),
    )
    assert changed["errors"] == [] and changed["customer"]["emailOptOuts"] == ["ORDER_CONFIRMATION"]
    order = await place_order(mail_client, mail_settings, customer)
    invoice = await issue_invoice(mail_client, mail_settings, order["id"])

    await dispatcher.run_once()

    # The invoice still goes out; the confirmation is recorded as skipped, never sent.
    assert [m.subject for m in smtp.to(address)] == [
        f"Acme Corporation: invoice {invoice['number']} for {Decimal(invoice['total']):,.2f} USD"
    ]
    assert deliveries(mail_settings, "Order", pk(order["id"], "Order")) == [
        ("order_confirmation", address, "skipped", 0, "the customer opted out of order confirmation emails")
    ]


async def test_a_manager_hears_of_a_hire_and_of_a_leave(mail_client, mail_settings, smtp, dispatcher):
    ((manager, manager_email),) = sql(
        mail_settings.database_url,
        "SELECT id, email FROM employees WHERE org_id = 1 AND status = 'active' AND email IS NOT NULL"
        " ORDER BY id LIMIT 1",
    )
    hired = await run_employee(
        mail_client,
        mail_settings,
        "hireEmployee",
        {
            "firstName": "Ada",
            "lastName": f"Quist{uuid.uuid4().hex[:4]}",
            "email": f"ada.{uuid.uuid4().hex[:10]}@staff.acme.example",
            "title": "Analyst",
            "salary": "52000.00",
            "hiredOn": "2020-01-06",
            "managerId": gid("Employee", manager),
        },
    )
    assert hired["errors"] == [], hired
    employee = hired["employee"]
    left = await run_employee(mail_client, mail_settings, "startLeave", {"id": employee["id"]})
    assert left["errors"] == [], left

    await dispatcher.run_once()

    name = sql(
        mail_settings.database_url,
        "SELECT first_name || ' ' || last_name FROM employees WHERE id = %s",
        pk(employee["id"], "Employee"),
    )[0][0]
    subjects = sorted(m.subject for m in smtp.to(manager_email) if name in m.subject)
    assert subjects == [f"{name} is on leave", f"{name} joins your team on 2020-01-06"]
    assert all("52000" not in m.part("plain") and "52,000" not in m.part("plain") for m in smtp.to(manager_email))


async def test_a_refusing_server_is_retried_on_the_schedule(mail_client, mail_settings, smtp, clock, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings)
    smtp.refuse(address, "451 4.3.0 mailbox busy, try later")
    order = await place_order(mail_client, mail_settings, customer)
    order_pk = pk(order["id"], "Order")

    await dispatcher.run_once()
    assert smtp.to(address) == []
    ((status, attempts, next_at),) = sql(
        mail_settings.database_url,
        "SELECT status, attempts, next_attempt_at FROM email_deliveries WHERE entity_type = 'Order' AND entity_id = %s",
        order_pk,
    )
    assert (status, attempts) == ("pending", 1)
    # 5 s, give or take the jitter's tenth.
    assert dt.timedelta(seconds=4.5) <= next_at - clock() <= dt.timedelta(seconds=5.5)

    smtp.accept(address)
    await dispatcher.run_once()  # not due yet: nothing is tried
    assert smtp.to(address) == []
    clock.advance(dt.timedelta(seconds=6))
    await dispatcher.run_once()

    (mail,) = smtp.to(address)
    assert order["number"] in mail.subject
    attempts_logged = sql(
        mail_settings.database_url,
        "SELECT a.attempt_no, a.outcome, a.smtp_code, a.smtp_response FROM email_attempts a"
        " JOIN email_deliveries d ON d.id = a.delivery_id WHERE d.entity_type = 'Order' AND d.entity_id = %s"
        " ORDER BY a.attempt_no",
        order_pk,
    )
    assert [row[:3] for row in attempts_logged] == [(1, "refused", 451), (2, "sent", 250)]
    assert "mailbox busy" in attempts_logged[0][3]
    assert deliveries(mail_settings, "Order", order_pk) == [("order_confirmation", address, "sent", 2, None)]


async def test_a_permanent_refusal_is_not_retried(mail_client, mail_settings, smtp, clock, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings)
    smtp.refuse(address, "550 5.1.1 no such mailbox")
    order = await place_order(mail_client, mail_settings, customer)

    await dispatcher.run_once()
    clock.advance(dt.timedelta(days=3))
    await dispatcher.run_once()

    assert smtp.to(address) == []
    assert deliveries(mail_settings, "Order", pk(order["id"], "Order")) == [
        ("order_confirmation", address, "failed", 1, "5.1.1 no such mailbox")
    ]


async def test_an_unreachable_server_exhausts_the_schedule_then_fails(
    mail_client, mail_settings, clock, make_dispatcher, dispatcher
):
    customer, _ = await new_customer(mail_client, mail_settings)
    order = await place_order(mail_client, mail_settings, customer)

    nowhere = make_dispatcher()
    nowhere.smtp = SmtpSettings(host="127.0.0.1", port=free_port(), timeout_seconds=2)
    for _ in range(8):
        await nowhere.run_once()
        clock.advance(dt.timedelta(hours=11))
    ((kind, _, status, attempts, reason),) = deliveries(mail_settings, "Order", pk(order["id"], "Order"))
    assert (kind, status, attempts) == ("order_confirmation", "failed", 8)
    assert reason and "Connect" in reason


async def test_two_dispatchers_at_once_send_each_email_once(mail_client, mail_settings, smtp, make_dispatcher):
    await make_dispatcher().run_once()
    addresses = []
    for _ in range(4):
        customer, address = await new_customer(mail_client, mail_settings)
        await place_order(mail_client, mail_settings, customer)
        addresses.append(address)

    first, second = make_dispatcher(concurrency=3), make_dispatcher(concurrency=3)
    counts = await asyncio.gather(first.run_once(), second.run_once())

    assert sum(counts) >= 4
    for address in addresses:
        assert len(smtp.to(address)) == 1, address
    ids = [m.message["X-Bizgraph-Delivery"] for m in smtp.received]
    assert len(ids) == len(set(ids))  # nothing sent twice, whoever sent it


async def test_nothing_crosses_organizations(mail_client, mail_settings, smtp, dispatcher):
    acme_customer, acme_address = await new_customer(mail_client, mail_settings, "acme")
    globex_customer, globex_address = await new_customer(mail_client, mail_settings, "globex")
    acme_order = await place_order(mail_client, mail_settings, acme_customer, "acme")
    globex_order = await place_order(mail_client, mail_settings, globex_customer, "globex")

    await dispatcher.run_once()

    (acme_mail,) = smtp.to(acme_address)
    (globex_mail,) = smtp.to(globex_address)
    assert acme_order["number"] in acme_mail.subject and acme_mail.subject.startswith("Acme Corporation")
    assert globex_order["number"] in globex_mail.subject and globex_mail.subject.startswith("Globex")
    assert globex_order["number"] not in acme_mail.part("plain") + acme_mail.part("html")
    assert acme_order["number"] not in globex_mail.part("plain") + globex_mail.part("html")
    # Each organization's admins see their own emails only.
    for org, mine, theirs in (("acme", acme_address, globex_address), ("globex", globex_address, acme_address)):
        admin = token(mail_settings, "admin", org)
        for address, expected in ((mine, 1), (theirs, 0)):
            log = await data(mail_client, DELIVERIES, {"filter": {"recipient": {"eq": address}}}, token=admin)
            assert len(log["emailDeliveries"]["nodes"]) == expected, (org, address)
    assert sql(
        mail_settings.database_url,
        "SELECT d.org_id FROM email_deliveries d WHERE d.recipient = %s",
        globex_address,
    ) == [(2,)]


async def test_the_organizations_brand_and_sender_are_used(mail_client, mail_settings, smtp, dispatcher):
    from tests.notifications.helpers import execute

    execute(
        mail_settings,
        "UPDATE organizations SET email_sender_name = 'Globex Billing', email_from = 'billing@globex.example',"
        " brand_color = '#aa3300', brand_logo_text = 'GLOBEX' WHERE id = 2",
    )
    try:
        customer, address = await new_customer(mail_client, mail_settings, "globex")
        await place_order(mail_client, mail_settings, customer, "globex")
        await dispatcher.run_once()
    finally:
        execute(
            mail_settings,
            "UPDATE organizations SET email_sender_name = NULL, email_from = NULL, brand_color = '#1f4e79',"
            " brand_logo_text = NULL WHERE id = 2",
        )
    (mail,) = smtp.to(address)
    sender = mail.message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Globex Billing", "billing@globex.example")
    assert mail.sender == "billing@globex.example"
    html = mail.part("html")
    assert "#aa3300" in html and "GLOBEX" in html
    assert "Globex Billing" in mail.part("plain")


async def test_the_log_filters_by_status_and_kind(mail_client, mail_settings, smtp, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings)
    smtp.refuse(address, "550 5.1.1 no such mailbox")
    await place_order(mail_client, mail_settings, customer)
    await dispatcher.run_once()

    admin = token(mail_settings, "admin")
    query = """
    query($filter: EmailDeliveryFilter) {
      emailDeliveries(first: 100, filter: $filter) { nodes { kind status recipient } }
    }"""
    failed = await data(
        mail_client,
        query,
        {"filter": {"status": {"in": ["PENDING", "FAILED"]}, "kind": {"eq": "ORDER_CONFIRMATION"}}},
        token=admin,
    )
    nodes = failed["emailDeliveries"]["nodes"]
    assert {"kind": "ORDER_CONFIRMATION", "status": "FAILED", "recipient": address} in nodes
    assert all(n["status"] in ("PENDING", "FAILED") and n["kind"] == "ORDER_CONFIRMATION" for n in nodes)
