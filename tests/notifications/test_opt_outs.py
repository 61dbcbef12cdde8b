"""Customers choose their emails: setEmailOptOuts for the customer itself and the staff
who deal with the account; updateCustomer and createCustomer for the staff."""

from __future__ import annotations

from decimal import Decimal

from tests.notifications.helpers import CREATE_CUSTOMER, issue_invoice, new_customer, place_order
from tests.support.auth import token_for
from tests.support.graphql import error_codes, gql
from tests.support.workflow import gid, mutate, pk, sql, token

SET = """
mutation($input: SetEmailOptOutsInput!) {
  setEmailOptOuts(input: $input) { customer { id version emailOptOuts } errors { code field message } }
}"""


def _customer_token(app, customer: int) -> str:
    return token_for(app, org_id=1, roles=["customer"], customer_id=customer)


async def test_a_customer_opts_out_of_invoice_emails_itself(mail_app, mail_client, mail_settings, smtp, dispatcher):
    customer, address = await new_customer(mail_client, mail_settings)
    payload = await mutate(
        mail_client,
        SET,
        {"input": {"id": gid("Customer", customer), "emailOptOuts": ["INVOICE_ISSUED", "PAYMENT_RECEIPT"]}},
        _customer_token(mail_app, customer),
    )
    assert payload["errors"] == []
    assert payload["customer"]["emailOptOuts"] == ["INVOICE_ISSUED", "PAYMENT_RECEIPT"]
    assert sql(mail_settings.database_url, "SELECT email_opt_outs FROM customers WHERE id = %s", customer) == [
        (["invoice_issued", "payment_receipt"],)
    ]
    ((fields,),) = sql(
        mail_settings.database_url,
        "SELECT payload->'fields' FROM outbox WHERE entity_type = 'Customer' AND entity_id = %s"
        " AND event_type = 'customer.updated'",
        customer,
    )
    assert fields == ["emailOptOuts"]

    order = await place_order(mail_client, mail_settings, customer)
    invoice = await issue_invoice(mail_client, mail_settings, order["id"])
    await dispatcher.run_once()

    assert [m.subject for m in smtp.to(address)] == [f"Acme Corporation: order {order['number']} confirmed"]
    skipped = sql(
        mail_settings.database_url,
        "SELECT status FROM email_deliveries WHERE entity_type = 'Invoice' AND entity_id = %s",
        pk(invoice["id"], "Invoice"),
    )
    assert skipped == [("skipped",)]
    assert Decimal(invoice["total"]) > 0


async def test_who_may_set_whose_opt_outs(mail_app, mail_client, mail_settings):
    customer, _ = await new_customer(mail_client, mail_settings)
    other, _ = await new_customer(mail_client, mail_settings)
    variables = {"input": {"id": gid("Customer", customer), "emailOptOuts": ["OVERDUE_REMINDER"]}}
    before = sql(mail_settings.database_url, "SELECT version, email_opt_outs FROM customers WHERE id = %s", customer)

    async def codes(bearer_token: str) -> list[str]:
        payload = await mutate(mail_client, SET, variables, bearer_token)
        return [e["code"] for e in payload["errors"]]

    # Another customer: the record does not exist for it.
    assert await codes(_customer_token(mail_app, other)) == ["NOT_FOUND"]
    # Roles that do not deal with customers' accounts.
    for role in ("hr", "analyst", "employee"):
        assert await codes(token(mail_settings, role)) == ["FORBIDDEN"], role
    # A sales rep who does not manage the account does not see it.
    assert await codes(token(mail_settings, "sales")) == ["NOT_FOUND"]
    # Another organization's admin does not see it either.
    assert await codes(token(mail_settings, "admin", "globex")) == ["NOT_FOUND"]
    assert sql(mail_settings.database_url, "SELECT version, email_opt_outs FROM customers WHERE id = %s", customer) == (
        before
    )
    # A stale version changes nothing; finance with the current one does.
    ((version,),) = sql(mail_settings.database_url, "SELECT version FROM customers WHERE id = %s", customer)
    stale = {"input": {**variables["input"], "version": version - 1}}
    assert [e["code"] for e in (await mutate(mail_client, SET, stale, token(mail_settings, "finance")))["errors"]] == [
        "CONFLICT"
    ]
    done = await mutate(
        mail_client, SET, {"input": {**variables["input"], "version": version}}, token(mail_settings, "finance")
    )
    assert done["errors"] == [] and done["customer"]["emailOptOuts"] == ["OVERDUE_REMINDER"]
    # An empty list opts back in to everything.
    cleared = await mutate(
        mail_client,
        SET,
        {"input": {"id": gid("Customer", customer), "emailOptOuts": []}},
        _customer_token(mail_app, customer),
    )
    assert cleared["errors"] == [] and cleared["customer"]["emailOptOuts"] == []


async def test_staff_set_opt_outs_when_creating_and_the_kinds_are_kept_once_and_sorted(mail_client, mail_settings):
    created = await mutate(
        mail_client,
        CREATE_CUSTOMER,
        {
            "input": {
                "name": "Quiet Buyer AG",
                "kind": "COMPANY",
                "segment": "ENTERPRISE",
                "country": "CH",
                "emailOptOuts": ["PAYMENT_RECEIPT", "ORDER_CONFIRMATION", "PAYMENT_RECEIPT"],
            }
        },
        token(mail_settings, "finance"),
    )
    assert created["errors"] == []
    assert created["customer"]["emailOptOuts"] == ["ORDER_CONFIRMATION", "PAYMENT_RECEIPT"]
    before = sql(mail_settings.database_url, "SELECT count(*) FROM customers")
    refused = await gql(
        mail_client,
        CREATE_CUSTOMER,
        {"input": {"name": "X", "kind": "COMPANY", "segment": "ENTERPRISE", "country": "CH", "emailOptOuts": ["SPAM"]}},
        token=token(mail_settings, "finance"),
    )
    assert error_codes(refused) == ["BAD_USER_INPUT"] and "CustomerEmailKind" in refused["errors"][0]["message"]
    assert sql(mail_settings.database_url, "SELECT count(*) FROM customers") == before
