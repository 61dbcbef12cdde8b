"""Managing endpoints through the API: the policy (admins only, nothing across
organizations), bad input, rotation, ping, redelivery and replay."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.graphql import data, gql, sql
from tests.support.receiver import receiving
from tests.webhooks.conftest import (
    CREATE,
    ENDPOINT_FIELDS,
    create_endpoint,
    create_product,
    run_until_quiet,
    staff_token,
)

pytestmark = pytest.mark.usefixtures("clean")

LIST = "query { webhookEndpoints { edges { node { id } } } webhookDeliveries { edges { node { id } } } }"
ACTION = """
mutation($id: ID!) {
  %s(input: { id: $id }) { webhookEndpoint { id enabled disabledReason } errors { code field message } }
}"""
DELETE = "mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedId errors { code } } }"
ROTATE = """
mutation($id: ID!, $overlap: Int) {
  rotateWebhookEndpointSecret(input: { id: $id, overlapSeconds: $overlap }) {
    secret webhookEndpoint { secretRotatedAt previousSecretExpiresAt version } errors { code message }
  }
}"""
UPDATE = f"""
mutation($input: UpdateWebhookEndpointInput!) {{
  updateWebhookEndpoint(input: $input) {{ webhookEndpoint {{ {ENDPOINT_FIELDS} description }} errors {{ code field }} }}
}}"""
REDELIVER = """
mutation($event: ID!, $endpoint: ID!) {
  redeliverWebhook(input: { eventId: $event, endpointId: $endpoint }) {
    webhookDelivery { status attempts event { id } endpoint { id } } errors { code field }
  }
}"""
REPLAY = """
mutation($endpoint: ID!, $since: DateTime!) {
  replayWebhookEvents(input: { endpointId: $endpoint, since: $since }) {
    queued webhookEndpoint { queueDepth } errors { code }
  }
}"""


@pytest.mark.parametrize("role", ["finance", "hr", "analyst"])
async def test_only_admins_see_or_manage_endpoints(hooks_client, admin, hooks_settings, worker, role):
    async with receiving() as receiver:
        endpoint = await create_endpoint(hooks_client, admin, receiver.url)
        await create_product(hooks_client, admin)
        await run_until_quiet(worker)
    token = staff_token(hooks_settings, role)
    seen = await data(hooks_client, LIST, token=token)
    assert seen["webhookEndpoints"]["edges"] == [] and seen["webhookDeliveries"]["edges"] == []
    node = await gql(hooks_client, "query($id: ID!) { node(id: $id) { id } }", {"id": endpoint["id"]}, token=token)
    assert node["data"]["node"] is None
    created = await data(
        hooks_client, CREATE, {"input": {"url": receiver.url, "eventTypes": ["order.placed"]}}, token=token
    )
    assert [e["code"] for e in created["createWebhookEndpoint"]["errors"]] == ["FORBIDDEN"]
    assert created["createWebhookEndpoint"]["secret"] is None
    for field in ("disableWebhookEndpoint", "pingWebhookEndpoint"):
        changed = await data(hooks_client, ACTION % field, {"id": endpoint["id"]}, token=token)
        assert [e["code"] for e in changed[field]["errors"]] == ["FORBIDDEN"]
    rotated = await data(hooks_client, ROTATE, {"id": endpoint["id"]}, token=token)
    assert rotated["rotateWebhookEndpointSecret"]["secret"] is None
    assert sql(hooks_settings.database_url, "SELECT count(*), bool_and(enabled) FROM webhook_endpoints") == [(1, True)]


async def test_another_organizations_admin_sees_and_changes_nothing(hooks_client, admin, other_admin, hooks_settings):
    endpoint = await create_endpoint(hooks_client, admin, "http://127.0.0.1:9/hooks")
    before = sql(hooks_settings.database_url, "SELECT secret_sealed, version, enabled FROM webhook_endpoints")
    seen = await data(hooks_client, LIST, token=other_admin)
    assert seen["webhookEndpoints"]["edges"] == []
    one = await gql(
        hooks_client, "query($id: ID!) { webhookEndpoint(id: $id) { id } }", {"id": endpoint["id"]}, token=other_admin
    )
    assert one["data"]["webhookEndpoint"] is None
    for field in ("disableWebhookEndpoint", "pingWebhookEndpoint", "enableWebhookEndpoint"):
        changed = await data(hooks_client, ACTION % field, {"id": endpoint["id"]}, token=other_admin)
        assert [e["code"] for e in changed[field]["errors"]] == ["NOT_FOUND"], field
    deleted = await data(hooks_client, DELETE, {"id": endpoint["id"]}, token=other_admin)
    assert [e["code"] for e in deleted["deleteWebhookEndpoint"]["errors"]] == ["NOT_FOUND"]
    rotated = await data(hooks_client, ROTATE, {"id": endpoint["id"]}, token=other_admin)
    assert rotated["rotateWebhookEndpointSecret"]["secret"] is None
    updated = await data(
        hooks_client, UPDATE, {"input": {"id": endpoint["id"], "url": "http://127.0.0.1:10/x"}}, token=other_admin
    )
    assert [e["code"] for e in updated["updateWebhookEndpoint"]["errors"]] == ["NOT_FOUND"]
    [(event_gid,)] = [
        (e["node"]["id"],)
        for e in (await data(hooks_client, "query { events(last: 1) { edges { node { id } } } }", token=admin))[
            "events"
        ]["edges"]
    ]
    redelivered = await data(
        hooks_client, REDELIVER, {"event": event_gid, "endpoint": endpoint["id"]}, token=other_admin
    )
    assert [e["code"] for e in redelivered["redeliverWebhook"]["errors"]] == ["NOT_FOUND"]
    assert sql(hooks_settings.database_url, "SELECT secret_sealed, version, enabled FROM webhook_endpoints") == before
    assert sql(hooks_settings.database_url, "SELECT count(*) FROM webhook_deliveries") == [(0,)]


async def test_bad_input_is_refused_with_paths(hooks_client, admin, hooks_settings):
    body = await data(
        hooks_client,
        CREATE,
        {"input": {"url": "http://127.0.0.1/x", "eventTypes": ["order.placed", "no.such"], "timeoutSeconds": 0}},
        token=admin,
    )
    errors = {(e["code"], tuple(e["field"])) for e in body["createWebhookEndpoint"]["errors"]}
    assert errors == {("INVALID", ("input", "eventTypes", "1")), ("INVALID", ("input", "timeoutSeconds"))}
    empty = await data(hooks_client, CREATE, {"input": {"url": "http://127.0.0.1/x", "eventTypes": []}}, token=admin)
    assert [e["code"] for e in empty["createWebhookEndpoint"]["errors"]] == ["REQUIRED"]
    bad_id = await data(hooks_client, ACTION % "pingWebhookEndpoint", {"id": "bm9wZQ=="}, token=admin)
    assert [e["code"] for e in bad_id["pingWebhookEndpoint"]["errors"]] == ["INVALID_ID"]
    assert sql(hooks_settings.database_url, "SELECT count(*) FROM webhook_endpoints") == [(0,)]


async def test_secret_is_shown_once_and_stored_encrypted(hooks_client, admin, hooks_settings):
    endpoint = await create_endpoint(hooks_client, admin, "http://127.0.0.1:9/hooks", description="ERP")
    [(sealed,)] = sql(hooks_settings.database_url, "SELECT secret_sealed FROM webhook_endpoints")
    assert endpoint["secret"] not in sealed and endpoint["secret"][6:] not in sealed
    body = await gql(
        hooks_client, "query($id: ID!) { webhookEndpoint(id: $id) { secret } }", {"id": endpoint["id"]}, token=admin
    )
    assert body["errors"] and "secret" in body["errors"][0]["message"]


async def test_update_disable_enable_delete(hooks_client, admin, hooks_settings):
    endpoint = await create_endpoint(hooks_client, admin, "http://127.0.0.1:9/hooks")
    updated = await data(
        hooks_client,
        UPDATE,
        {"input": {"id": endpoint["id"], "eventTypes": ["invoice.paid"], "description": "billing", "version": 1}},
        token=admin,
    )
    shown = updated["updateWebhookEndpoint"]["webhookEndpoint"]
    assert shown["eventTypes"] == ["invoice.paid"] and shown["description"] == "billing" and shown["version"] == 2
    stale = await data(
        hooks_client, UPDATE, {"input": {"id": endpoint["id"], "description": "x", "version": 1}}, token=admin
    )
    assert [e["code"] for e in stale["updateWebhookEndpoint"]["errors"]] == ["CONFLICT"]
    off = await data(hooks_client, ACTION % "disableWebhookEndpoint", {"id": endpoint["id"]}, token=admin)
    assert off["disableWebhookEndpoint"]["webhookEndpoint"] == {
        "id": endpoint["id"],
        "enabled": False,
        "disabledReason": "MANUAL",
    }
    again = await data(hooks_client, ACTION % "disableWebhookEndpoint", {"id": endpoint["id"]}, token=admin)
    assert [e["code"] for e in again["disableWebhookEndpoint"]["errors"]] == ["INVALID_TRANSITION"]
    on = await data(hooks_client, ACTION % "enableWebhookEndpoint", {"id": endpoint["id"]}, token=admin)
    assert on["enableWebhookEndpoint"]["webhookEndpoint"]["enabled"] is True
    gone = await data(hooks_client, DELETE, {"id": endpoint["id"]}, token=admin)
    assert gone["deleteWebhookEndpoint"] == {"deletedId": endpoint["id"], "errors": []}
    assert sql(hooks_settings.database_url, "SELECT count(*) FROM webhook_endpoints") == [(0,)]
    history = sql(
        hooks_settings.database_url,
        "SELECT action FROM audit_log WHERE entity_type = 'WebhookEndpoint' ORDER BY id DESC LIMIT 5",
    )
    assert [a for (a,) in history] == [
        "webhook_endpoint.deleted",
        "webhook_endpoint.enabled",
        "webhook_endpoint.disabled_by_admin",
        "webhook_endpoint.updated",
        "webhook_endpoint.created",
    ]


async def test_rotation_signs_with_both_secrets_during_the_overlap(hooks_client, admin, worker):
    worker.clock = lambda: dt.datetime.now(dt.UTC)
    async with receiving() as receiver:
        endpoint = await create_endpoint(hooks_client, admin, receiver.url)
        rotated = (await data(hooks_client, ROTATE, {"id": endpoint["id"], "overlap": 3600}, token=admin))[
            "rotateWebhookEndpointSecret"
        ]
        assert rotated["errors"] == [] and rotated["secret"] != endpoint["secret"]
        assert rotated["webhookEndpoint"]["previousSecretExpiresAt"] is not None
        await create_product(hooks_client, admin)
        await run_until_quiet(worker)
        # Without an overlap, the old secret stops signing at once.
        final = (await data(hooks_client, ROTATE, {"id": endpoint["id"], "overlap": 0}, token=admin))[
            "rotateWebhookEndpointSecret"
        ]
        await create_product(hooks_client, admin)
        await run_until_quiet(worker)
    during, after = receiver.requests
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (endpoint["secret"], rotated["secret"]):
        Webhook(secret).verify(during.body, during.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(final["secret"]).verify(after.body, after.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(rotated["secret"]).verify(after.body, after.headers)


async def test_ping_goes_to_its_endpoint_only(hooks_client, admin, worker):
    async with receiving() as first, receiving() as second:
        endpoint = await create_endpoint(hooks_client, admin, first.url)
        await create_endpoint(hooks_client, admin, second.url)
        pinged = await data(hooks_client, ACTION % "pingWebhookEndpoint", {"id": endpoint["id"]}, token=admin)
        assert pinged["pingWebhookEndpoint"]["errors"] == []
        await run_until_quiet(worker)
    [request] = first.requests
    body = orjson.loads(request.body)
    assert body["type"] == "webhook_endpoint.ping" and body["entityId"] == endpoint["id"]
    assert body["data"] == {"url": first.url}
    assert second.requests == []


async def test_redeliver_and_replay(hooks_client, admin, worker):
    worker.clock = lambda: dt.datetime.now(dt.UTC)  # redeliveries are due at the database's now
    async with receiving() as receiver:
        since = dt.datetime.now(dt.UTC).isoformat()
        endpoint = await create_endpoint(hooks_client, admin, receiver.url)
        await create_product(hooks_client, admin)
        await create_product(hooks_client, admin)
        await run_until_quiet(worker)
        assert len(receiver.requests) == 2
        first = orjson.loads(receiver.requests[0].body)["id"]
        again = (await data(hooks_client, REDELIVER, {"event": first, "endpoint": endpoint["id"]}, token=admin))[
            "redeliverWebhook"
        ]
        assert again["errors"] == [] and again["webhookDelivery"]["status"] == "PENDING"
        assert again["webhookDelivery"]["attempts"] == 0 and again["webhookDelivery"]["event"]["id"] == first
        await run_until_quiet(worker)
        assert len(receiver.requests) == 3 and receiver.requests[2].message_id == first
        replayed = (await data(hooks_client, REPLAY, {"endpoint": endpoint["id"], "since": since}, token=admin))[
            "replayWebhookEvents"
        ]
        assert replayed["errors"] == [] and replayed["queued"] == 2 and replayed["webhookEndpoint"]["queueDepth"] == 2
        await run_until_quiet(worker)
    assert len(receiver.requests) == 5
    assert sorted(r.message_id for r in receiver.requests[3:]) == sorted(r.message_id for r in receiver.requests[:2])
