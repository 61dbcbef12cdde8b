"""The audit log, entity history and integration events: who reads what, and
events that a consumer can page through and resume without ever missing one."""

from __future__ import annotations

import asyncio

import psycopg

from tests.support.db import conninfo
from tests.support.workflow import codes, data, gid, mutate, pk, sql, token

CREATE = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } errors { code } }
}"""
UPDATE = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { id version } errors { code } }
}"""
EVENTS = """
query($after: String, $type: String) {
  events(first: 100, after: $after, filter: {type: {eq: $type}}) {
    edges { cursor node { id type entityType entityId payload occurredAt } }
    pageInfo { endCursor hasNextPage }
  }
}"""


async def _customer(client, settings, name="Audit Subject AG"):
    payload = await mutate(
        client,
        CREATE,
        {"input": {"name": name, "kind": "COMPANY", "segment": "ENTERPRISE", "country": "CH"}},
        token(settings, "admin"),
    )
    assert payload["errors"] == []
    return payload["customer"]["id"]


async def test_history_shows_every_change_of_the_entity_newest_first(writes_client, writes_settings):
    customer = await _customer(writes_client, writes_settings)
    admin = token(writes_settings, "admin")
    await mutate(writes_client, UPDATE, {"input": {"id": customer, "version": 1, "name": "Renamed AG"}}, admin)
    result = await data(
        writes_client,
        "query($id: ID!) { customer(id: $id) {"
        " history { totalCount nodes { action actor entityType entityId changes } } } }",
        {"id": customer},
        token=admin,
    )
    history = result["customer"]["history"]
    assert history["totalCount"] == 2
    assert [n["action"] for n in history["nodes"]] == ["customer.updated", "customer.created"]
    assert {n["entityId"] for n in history["nodes"]} == {customer}
    assert history["nodes"][0]["changes"] == {"name": {"before": "Audit Subject AG", "after": "Renamed AG"}}


async def test_audit_log_readers_see_their_own_records_only(writes_client, writes_settings):
    url = writes_settings.database_url
    customer = await _customer(writes_client, writes_settings, "Ledger Record SA")
    # A people record (the employee commands write these; inserted directly to stay independent of them).
    employee = sql(url, "SELECT id FROM employees WHERE org_id = 1 ORDER BY id LIMIT 1")[0][0]
    sql(
        url,
        "INSERT INTO audit_log (org_id, actor, action, entity_type, entity_id, changes) VALUES"
        " (1, 'hr@acme.example', 'employee.salary_changed', 'Employee', %s,"
        ' \'{"salary": {"before": "1", "after": "2"}}\')'
        " RETURNING id",
        employee,
    )
    query = (
        '{ auditLog(first: 100, filter: {entityType: {in: ["Customer", "Employee"]}}) {'
        " nodes { entityType entityId } } }"
    )
    seen = {}
    for role in ("admin", "finance", "hr", "sales", "analyst", "manager", "employee", "customer"):
        nodes = (await data(writes_client, query, token=token(writes_settings, role)))["auditLog"]["nodes"]
        seen[role] = {n["entityType"] for n in nodes}
        if role == "finance":
            assert any(n["entityId"] == customer for n in nodes)
    assert seen == {
        "admin": {"Customer", "Employee"},
        "finance": {"Customer"},
        "hr": {"Employee"},
        "sales": set(),
        "analyst": set(),
        "manager": set(),
        "employee": set(),
        "customer": set(),
    }


async def test_another_organizations_records_do_not_exist(writes_client, writes_settings):
    await _customer(writes_client, writes_settings, "Acme Only GmbH")
    globex = token(writes_settings, "admin", "globex")
    log = await data(
        writes_client,
        "{ auditLog(first: 100) { nodes { actor } } events(first: 100) { nodes { entityId } } }",
        token=globex,
    )
    assert all(not n["actor"].endswith("@acme.example") for n in log["auditLog"]["nodes"])
    acme_customers = {
        gid("Customer", pk) for (pk,) in sql(writes_settings.database_url, "SELECT id FROM customers WHERE org_id = 1")
    }
    assert not acme_customers & {n["entityId"] for n in log["events"]["nodes"]}


async def _all_events(client, settings, after=None, type_=None):
    result = await data(client, EVENTS, {"after": after, "type": type_}, token=token(settings, "admin"))
    return result["events"]


async def _tail(client, settings, type_=None):
    """The cursor after the last event there is now (a consumer that has read everything)."""
    cursor = None
    while True:
        page = await _all_events(client, settings, after=cursor, type_=type_)
        cursor = page["pageInfo"]["endCursor"] or cursor
        if not page["pageInfo"]["hasNextPage"]:
            return cursor


async def test_a_consumer_resumes_from_its_last_cursor_and_sees_each_event_once(writes_client, writes_settings):
    resume = await _tail(writes_client, writes_settings, type_="customer.created")
    made = [await _customer(writes_client, writes_settings, f"Resume {i}") for i in range(3)]
    page = await _all_events(writes_client, writes_settings, after=resume, type_="customer.created")
    assert [e["node"]["entityId"] for e in page["edges"]] == made
    assert all(e["node"]["payload"]["status"] == "lead" for e in page["edges"])
    again = await _all_events(
        writes_client, writes_settings, after=page["pageInfo"]["endCursor"], type_="customer.created"
    )
    assert again["edges"] == []


async def test_an_event_that_commits_late_is_not_skipped(writes_client, writes_settings):
    """An event whose transaction takes its id first but commits last: a consumer
    paging by id would skip it; by commit position it comes after what was read."""
    url = writes_settings.database_url
    before = await _tail(writes_client, writes_settings)
    slow = psycopg.connect(conninfo(url))
    try:
        (late_id,) = slow.execute(
            "INSERT INTO outbox (org_id, event_type, entity_type, entity_id, payload)"
            " VALUES (1, 'test.late', 'Customer', 1, '{}') RETURNING id"
        ).fetchone()
        fast = await _customer(writes_client, writes_settings, "Commits First")
        while_open = await _all_events(writes_client, writes_settings, after=before)
        assert [(e["node"]["type"], e["node"]["entityId"]) for e in while_open["edges"]] == [("customer.created", fast)]
        fast_id = pk(while_open["edges"][0]["node"]["id"], "IntegrationEvent")
        assert late_id < fast_id  # a consumer that had read up to fast_id by id would never see late_id
        slow.commit()
    finally:
        slow.close()
    resumed = await _all_events(writes_client, writes_settings, after=while_open["pageInfo"]["endCursor"])
    assert [e["node"]["type"] for e in resumed["edges"]] == ["test.late"]
    # The row is the test's own stand-in, not an event of the catalog: it goes, so
    # the outbox check at the end of the run holds bizgraph's events only.
    sql(url, "DELETE FROM outbox WHERE id = %s RETURNING id", late_id)


async def test_listeners_hear_committed_changes_only(writes_client, writes_settings):
    url = writes_settings.database_url
    listener = await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True)
    try:
        await listener.execute("LISTEN bizgraph_events")
        refused = await mutate(
            writes_client,
            CREATE,
            {"input": {"name": "", "kind": "COMPANY", "segment": "ENTERPRISE", "country": "CH"}},
            token(writes_settings, "admin"),
        )
        assert codes(refused) == ["REQUIRED"]
        customer = await _customer(writes_client, writes_settings, "Heard Of Ltd")
        heard = []

        async def collect():
            async for note in listener.notifies():
                heard.append(note)
                break

        await asyncio.wait_for(collect(), timeout=5)
    finally:
        await listener.close()
    import json

    (note,) = heard
    message = json.loads(note.payload)
    assert message["type"] == "customer.created" and message["org_id"] == 1
    assert gid("Customer", message["entity_id"]) == customer


async def test_history_of_orders_invoices_and_products_is_planned_in_the_same_statement(
    writes_app, writes_client, writes_settings
):
    from tests.support.graphql import count_statements

    query = """{
      orders(first: 20, filter: {status: {eq: FULFILLED}}) { nodes { number history { nodes { action entityType } } } }
      invoices(first: 20) { nodes { history(first: 5) { nodes { action } } } }
      products(first: 5) { nodes { history { totalCount } } }
    }"""
    with count_statements(writes_app) as statements:
        result = await data(writes_client, query, token=token(writes_settings, "admin"))
    assert len(statements) == 3  # one per root field, whatever the rows
    orders = result["orders"]["nodes"]
    assert orders and all({"action": "order.placed", "entityType": "Order"} in o["history"]["nodes"] for o in orders)
    assert all(any(h["action"] == "invoice.issued" for h in i["history"]["nodes"]) for i in result["invoices"]["nodes"])
    # Sales does not read the audit trail: the history of its own orders is empty, not an error.
    sales = await data(
        writes_client,
        "{ orders(first: 5) { nodes { history { totalCount } } } }",
        token=token(writes_settings, "sales"),
    )
    assert {o["history"]["totalCount"] for o in sales["orders"]["nodes"]} == {0}
