"""Customer mutations over HTTP with real tokens: create, update, lifecycle,
field-level write rules, validation, optimistic concurrency and the audit trail."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.workflow import codes, count, gid, mutate, sql, token

CREATE = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id number name email status version creditLimit paymentTermsDays availableTransitions
               accountManager { id } billingAddress { street city postalCode country } }
    errors { code field message }
  }
}"""
CREATE_AS_SALES = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id accountManager { id } } errors { code field message } }
}"""
UPDATE = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { id name version creditLimit } errors { code field message } }
}"""
TRANSITION = """
mutation($input: CustomerTransitionInput!) {
  %s(input: $input) { customer { id status version availableTransitions } errors { code field message } }
}"""


def _new(**extra):
    return {"name": "Nordwind Handel GmbH", "kind": "COMPANY", "segment": "SMALL_BUSINESS", "country": "DE", **extra}


async def _create(client, settings, role="admin", **extra):
    payload = await mutate(client, CREATE, {"input": _new(**extra)}, token(settings, role))
    assert payload["errors"] == [], payload["errors"]
    return payload["customer"]


async def test_create_customer_writes_the_row_its_audit_entry_and_its_event(writes_client, writes_settings):
    url = writes_settings.database_url
    created = await _create(
        writes_client,
        writes_settings,
        email="Buyer@Nordwind.example",
        creditLimit="2500.00",
        billingAddress={"street": "Hafenstraße 1", "city": "Hamburg", "postalCode": "20457"},
    )
    assert created["status"] == "LEAD" and created["version"] == 1
    assert created["creditLimit"] == "2500.00" and created["paymentTermsDays"] == 30
    assert created["number"].startswith("C-")
    assert created["availableTransitions"] == ["EDIT", "SET_EMAIL_OPT_OUTS", "ACTIVATE", "DEACTIVATE"]
    assert created["billingAddress"] == {
        "street": "Hafenstraße 1",
        "city": "Hamburg",
        "postalCode": "20457",
        "country": "DE",
    }
    pk = int(sql(url, "SELECT id FROM customers WHERE number = %s", created["number"])[0][0])
    assert gid("Customer", pk) == created["id"]
    (audit,) = sql(
        url, "SELECT action, actor, changes FROM audit_log WHERE entity_type = 'Customer' AND entity_id = %s", pk
    )
    assert audit[0] == "customer.created" and audit[1] == "admin@acme.example"
    assert audit[2]["creditLimit"] == {"before": None, "after": "2500.00"}
    (event,) = sql(url, "SELECT event_type, payload FROM outbox WHERE entity_type = 'Customer' AND entity_id = %s", pk)
    assert event == ("customer.created", {"number": created["number"], "status": "lead"})


async def test_customer_numbers_do_not_collide_under_concurrent_creates(writes_client, writes_settings):
    made = await asyncio.gather(*[_create(writes_client, writes_settings, name=f"Parallel {i}") for i in range(8)])
    numbers = [c["number"] for c in made]
    assert len(set(numbers)) == 8


async def test_sales_creates_its_own_accounts_and_may_not_set_the_credit_limit(writes_client, writes_settings):
    url = writes_settings.database_url
    sales = token(writes_settings, "sales")
    (me,) = sql(url, "SELECT employee_id FROM users WHERE email = 'sales@acme.example'")[0]
    own = await mutate(writes_client, CREATE_AS_SALES, {"input": _new(name="Rep's lead")}, sales)
    assert own["errors"] == []
    assert own["customer"]["accountManager"] == {"id": gid("Employee", me)}
    before = count(url, "customers")
    refused = await mutate(writes_client, CREATE_AS_SALES, {"input": _new(creditLimit="1.00")}, sales)
    assert refused["customer"] is None
    assert refused["errors"] == [
        {
            "code": "FORBIDDEN",
            "field": ["input", "creditLimit"],
            "message": "your roles may not set Customer.creditLimit",
        }
    ]
    other = sql(url, "SELECT id FROM employees WHERE org_id = 1 AND id <> %s LIMIT 1", me)[0][0]
    handed_over = await mutate(
        writes_client, CREATE_AS_SALES, {"input": _new(accountManagerId=gid("Employee", other))}, sales
    )
    assert codes(handed_over) == ["FORBIDDEN"] and handed_over["errors"][0]["field"] == ["input", "accountManagerId"]
    assert count(url, "customers") == before


async def test_roles_without_customer_commands_are_forbidden(writes_client, writes_settings):
    for role in ("hr", "analyst", "employee", "customer"):
        payload = await mutate(writes_client, CREATE_AS_SALES, {"input": _new()}, token(writes_settings, role))
        assert codes(payload) == ["FORBIDDEN"], role


@pytest.mark.parametrize(
    "extra, code, field",
    [
        ({"email": "not-an-email"}, "INVALID_EMAIL", ["input", "email"]),
        ({"name": "x" * 201}, "TOO_LONG", ["input", "name"]),
        ({"name": "   "}, "REQUIRED", ["input", "name"]),
        ({"country": "Germany"}, "INVALID", ["input", "country"]),
        ({"country": "d1"}, "INVALID", ["input", "country"]),
        ({"creditLimit": "10.001"}, "TOO_MANY_DECIMALS", ["input", "creditLimit"]),
        ({"creditLimit": "-5.00"}, "NEGATIVE", ["input", "creditLimit"]),
        ({"creditLimit": "1000000000000.00"}, "INVALID", ["input", "creditLimit"]),
        ({"paymentTermsDays": 400}, "INVALID", ["input", "paymentTermsDays"]),
        ({"accountManagerId": "bm9wZQ=="}, "INVALID_ID", ["input", "accountManagerId"]),
        ({"accountManagerId": gid("Product", 1)}, "INVALID_ID", ["input", "accountManagerId"]),
        ({"billingAddress": {"postalCode": "1" * 21}}, "TOO_LONG", ["input", "billingAddress", "postalCode"]),
    ],
)
async def test_bad_input_is_a_user_error_with_its_path_and_writes_nothing(
    writes_client, writes_settings, extra, code, field
):
    url = writes_settings.database_url
    before = (count(url, "customers"), count(url, "audit_log"), count(url, "outbox"))
    payload = await mutate(writes_client, CREATE, {"input": _new(**extra)}, token(writes_settings, "admin"))
    assert payload["customer"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert (count(url, "customers"), count(url, "audit_log"), count(url, "outbox")) == before


async def test_every_bad_field_is_reported_at_once(writes_client, writes_settings):
    payload = await mutate(
        writes_client, CREATE, {"input": _new(name="", email="@", creditLimit="0.123")}, token(writes_settings, "admin")
    )
    assert sorted(e["field"][1] for e in payload["errors"]) == ["creditLimit", "email", "name"]


async def test_another_organizations_employee_is_not_found(writes_client, writes_settings):
    url = writes_settings.database_url
    foreign = sql(url, "SELECT id FROM employees WHERE org_id = 2 LIMIT 1")[0][0]
    payload = await mutate(
        writes_client,
        CREATE,
        {"input": _new(accountManagerId=gid("Employee", foreign))},
        token(writes_settings, "admin"),
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["input", "accountManagerId"])]


async def test_update_needs_the_current_version_and_exactly_one_of_two_concurrent_updates_wins(
    writes_client, writes_settings
):
    url = writes_settings.database_url
    created = await _create(writes_client, writes_settings)
    admin = token(writes_settings, "admin")
    racers = await asyncio.gather(
        *[
            mutate(writes_client, UPDATE, {"input": {"id": created["id"], "version": 1, "name": f"Winner {i}"}}, admin)
            for i in range(2)
        ]
    )
    outcomes = sorted(codes(p) for p in racers)
    assert outcomes == [[], ["CONFLICT"]]
    winner = next(p for p in racers if not p["errors"])
    assert winner["customer"]["version"] == 2
    loser = next(p for p in racers if p["errors"])
    assert loser["customer"] is None and loser["errors"][0]["field"] == ["input", "version"]
    pk = sql(url, "SELECT id FROM customers WHERE name = %s", winner["customer"]["name"])[0][0]
    assert (
        count(url, "audit_log", "entity_type = 'Customer' AND entity_id = %s AND action = 'customer.updated'", pk) == 1
    )
    stale = await mutate(writes_client, UPDATE, {"input": {"id": created["id"], "version": 1, "name": "Late"}}, admin)
    assert codes(stale) == ["CONFLICT"]


async def test_update_records_before_and_after_of_the_changed_fields_only(writes_client, writes_settings):
    url = writes_settings.database_url
    created = await _create(writes_client, writes_settings, name="Before GmbH", creditLimit="100.00")
    finance = token(writes_settings, "finance")
    payload = await mutate(
        writes_client,
        UPDATE,
        {"input": {"id": created["id"], "version": 1, "name": "After GmbH", "creditLimit": "100.00"}},
        finance,
    )
    assert payload["errors"] == [] and payload["customer"]["name"] == "After GmbH"
    (changes,) = sql(
        url,
        "SELECT changes FROM audit_log WHERE action = 'customer.updated' AND actor = 'finance@acme.example'"
        " ORDER BY id DESC LIMIT 1",
    )[0]
    assert changes == {"name": {"before": "Before GmbH", "after": "After GmbH"}}


async def test_lifecycle_follows_the_declared_transitions(writes_client, writes_settings):
    created = await _create(writes_client, writes_settings)
    admin, sales = token(writes_settings, "admin"), token(writes_settings, "sales")
    activated = await mutate(writes_client, TRANSITION % "activateCustomer", {"input": {"id": created["id"]}}, admin)
    assert activated["customer"]["status"] == "ACTIVE"
    assert activated["customer"]["availableTransitions"] == ["EDIT", "SET_EMAIL_OPT_OUTS", "DEACTIVATE"]
    again = await mutate(writes_client, TRANSITION % "activateCustomer", {"input": {"id": created["id"]}}, admin)
    assert codes(again) == ["INVALID_TRANSITION"]
    off = await mutate(
        writes_client, TRANSITION % "deactivateCustomer", {"input": {"id": created["id"], "version": 2}}, admin
    )
    assert off["customer"]["status"] == "INACTIVE" and off["customer"]["availableTransitions"] == [
        "EDIT",
        "SET_EMAIL_OPT_OUTS",
        "REACTIVATE",
    ]
    # Reactivating is finance's call; and sales does not even see accounts it does not manage.
    back = await mutate(writes_client, TRANSITION % "reactivateCustomer", {"input": {"id": created["id"]}}, sales)
    assert codes(back) == ["FORBIDDEN"]
    hidden = await mutate(writes_client, TRANSITION % "deactivateCustomer", {"input": {"id": created["id"]}}, sales)
    assert codes(hidden) == ["NOT_FOUND"]
    back = await mutate(
        writes_client,
        TRANSITION % "reactivateCustomer",
        {"input": {"id": created["id"]}},
        token(writes_settings, "finance"),
    )
    assert back["customer"]["status"] == "ACTIVE"


async def test_another_organizations_customer_does_not_exist_for_mutations(writes_client, writes_settings):
    url = writes_settings.database_url
    foreign = sql(url, "SELECT id, version FROM customers WHERE org_id = 2 LIMIT 1")[0]
    payload = await mutate(
        writes_client,
        UPDATE,
        {"input": {"id": gid("Customer", foreign[0]), "version": foreign[1], "name": "Taken"}},
        token(writes_settings, "admin"),
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", ["input", "id"])]
    assert sql(url, "SELECT name <> 'Taken' FROM customers WHERE id = %s", foreign[0])[0][0]
