"""graphql-transport-ws on /graphql, over a real port with real tokens: the protocol's close
codes, authentication in connection_init and in the upgrade's header, queries and mutations
through the same pipeline as HTTP (the same bytes), and internal errors masked."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import orjson
import pytest
from starlette.routing import Route

from app.auth.keys import load_key_ring, write_new_es256_key
from app.auth.tokens import TokenIssuer
from resolvers.accounts.admin import create_user, disable_user
from tests.support.auth import bearer, token_for, token_for_user
from tests.support.websocket_client import (
    answers,
    closed_with,
    init,
    live_server,
    receive,
    receive_raw,
    send,
    socket,
    subscribe,
)

QUERY = "{ customers(first: 3, orderBy: {field: NAME}) { totalCount edges { node { id name } } } }"


@pytest.fixture(scope="module")
async def live(demo_settings):
    async with live_server(replace(demo_settings, ws_init_timeout_ms=500)) as served:
        yield served


@pytest.fixture(scope="module")
def admin_token(demo_settings):
    return token_for_user(demo_settings, "admin@acme.example")


async def test_a_query_over_the_socket_answers_next_with_the_bytes_http_answers_then_complete(live, admin_token):
    client, origin = live.client, live.origin
    http = await client.post("/graphql", json={"query": QUERY}, headers=bearer(admin_token))
    async with socket(origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "q1", QUERY)
        next_frame = await receive_raw(ws)
        assert await receive(ws) == {"id": "q1", "type": "complete"}
    # The frame is the HTTP body, byte for byte, inside the protocol's envelope.
    assert next_frame == '{"id":"q1","type":"next","payload":' + http.text + "}"
    assert orjson.loads(http.text)["data"]["customers"]["totalCount"] > 0


async def test_a_refused_mutation_answers_as_over_http(live, admin_token):
    client, origin = live.client, live.origin
    mutation = """mutation {
      updateCustomer(input: {id: "Q3VzdG9tZXI6OTk5OTk5", version: 1, name: "x"}) { errors { code } }
    }"""
    http = await client.post("/graphql", json={"query": mutation}, headers=bearer(admin_token))
    async with socket(origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "m1", mutation)
        [next_message, complete] = await answers(ws, "m1")
    assert next_message == {"id": "m1", "type": "next", "payload": http.json()}
    assert complete["type"] == "complete"


async def test_a_request_error_answers_error_with_the_codes_http_gives(live, admin_token):
    client, origin = live.client, live.origin
    broken = "{ customers(first: 1) { nope } }"
    http = await client.post("/graphql", json={"query": broken}, headers=bearer(admin_token))
    async with socket(origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "bad", broken)
        [error] = await answers(ws, "bad")
    assert error["type"] == "error"
    assert [e["extensions"]["code"] for e in error["payload"]] == [
        e["extensions"]["code"] for e in http.json()["errors"]
    ]
    assert error["payload"][0]["message"] == http.json()["errors"][0]["message"]


async def test_operations_on_one_socket_run_side_by_side_and_a_completed_id_may_be_reused(live, admin_token):
    origin = live.origin
    async with socket(origin) as ws:
        await init(ws, admin_token)
        await subscribe(ws, "a", "{ me { roles } }")
        await subscribe(ws, "b", "{ customers(first: 1) { totalCount } }")
        seen = [await receive(ws) for _ in range(4)]
        assert sorted((m["id"], m["type"]) for m in seen) == [
            ("a", "complete"),
            ("a", "next"),
            ("b", "complete"),
            ("b", "next"),
        ]
        await subscribe(ws, "a", "{ me { roles } }")
        assert [m["type"] for m in await answers(ws, "a")] == ["next", "complete"]


# --- authentication ---------------------------------------------------------------------


async def test_the_token_may_come_as_lowercase_authorization(live, admin_token):
    origin = live.origin
    async with socket(origin) as ws:
        await send(ws, {"type": "connection_init", "payload": {"authorization": f"Bearer {admin_token}"}})
        assert await receive(ws) == {"type": "connection_ack"}


async def test_the_token_may_come_in_the_upgrade_requests_header(live, admin_token):
    origin = live.origin
    async with socket(origin, headers=bearer(admin_token)) as ws:
        await send(ws, {"type": "connection_init"})
        assert await receive(ws) == {"type": "connection_ack"}
        await subscribe(ws, "me", "{ me { roles } }")
        [next_message, _] = await answers(ws, "me")
    assert "ADMIN" in next_message["payload"]["data"]["me"]["roles"]


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        pytest.param({}, "an access token is required", id="no-token"),
        pytest.param({"Authorization": "Bearer not.a.token"}, "", id="garbage"),
        pytest.param({"Authorization": 42}, "must be a string", id="not-a-string"),
    ],
)
async def test_no_or_a_bad_token_closes_the_socket_4401_and_nothing_runs(live, payload, why):
    origin = live.origin
    async with socket(origin) as ws:
        await send(ws, {"type": "connection_init", "payload": payload})
        code, reason, seen = await closed_with(ws)
    assert code == 4401 and reason.startswith("Unauthorized") and why in reason
    assert seen == []


async def test_a_token_of_a_disabled_user_is_refused_as_over_http(accounts_settings):
    # The user check is on here: a token whose user is gone is refused like over HTTP.
    settings = replace(accounts_settings, check_token_users=True)
    token = token_for(settings, org_id=1, roles=["admin"], user_id=987_654_321)
    async with live_server(settings) as server:
        http = await server.client.post("/graphql", json={"query": "{ me { roles } }"}, headers=bearer(token))
        async with socket(server.origin) as ws:
            await send(ws, {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            code, reason, _ = await closed_with(ws)
    assert http.status_code == 401
    assert code == 4401 and http.json()["errors"][0]["message"] in reason


async def test_a_token_from_an_untrusted_issuer_is_refused(live, tmp_path):
    origin = live.origin
    # Signed by a key of its own, claiming to be another issuer.
    keys = load_key_ring((write_new_es256_key(tmp_path / "other.pem"),))
    issuer = TokenIssuer(keys, issuer="https://elsewhere.example", audience="bizgraph", ttl_seconds=600)
    token = issuer.for_user(
        user_id=1, email="x@acme.example", org_id=1, org_slug="acme", roles=["admin"], client_id="x"
    ).access_token
    async with socket(origin) as ws:
        await send(ws, {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        code, reason, _ = await closed_with(ws)
    assert code == 4401 and "issuer" in reason


async def test_the_socket_closes_4403_when_its_token_expires(demo_settings):
    settings = replace(demo_settings, token_leeway_seconds=0)
    async with live_server(settings) as server, socket(server.origin) as ws:
        # Minted once the server runs: its two seconds are the socket's.
        await init(ws, token_for(settings, org_id=1, roles=["admin"], ttl_seconds=2))
        code, reason, _ = await closed_with(ws, within=5)
    # 4403: a graphql-ws client reconnects, and its connectionParams give it a fresh token.
    assert (code, reason) == (4403, "Forbidden: the access token expired")


# --- the protocol's close codes ------------------------------------------------------------


async def test_no_connection_init_in_time_closes_4408(live):
    origin = live.origin
    async with socket(origin) as ws:
        code, reason, _ = await closed_with(ws, within=3)
    assert (code, reason) == (4408, "Connection initialisation timeout")


async def test_a_second_connection_init_closes_4429(live, admin_token):
    origin = live.origin
    async with socket(origin) as ws:
        await init(ws, admin_token)
        await send(ws, {"type": "connection_init", "payload": {"Authorization": f"Bearer {admin_token}"}})
        code, reason, _ = await closed_with(ws)
    assert (code, reason) == (4429, "Too many initialisation requests")


async def test_subscribe_before_the_ack_closes_4401(live):
    origin = live.origin
    async with socket(origin) as ws:
        await subscribe(ws, "early", "{ me { roles } }")
        code, reason, seen = await closed_with(ws)
    assert (code, reason, seen) == (4401, "Unauthorized", [])


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("not json", id="not-json"),
        pytest.param("[1, 2]", id="not-an-object"),
        pytest.param('{"type": "start", "id": "1"}', id="legacy-type"),
        pytest.param('{"payload": {}}', id="no-type"),
        pytest.param('{"type": "subscribe", "payload": {"query": "{ me { roles } }"}}', id="no-id"),
        pytest.param('{"type": "subscribe", "id": "1"}', id="no-payload"),
        pytest.param('{"type": "subscribe", "id": "1", "payload": {"query": 7}}', id="query-not-a-string"),
        pytest.param('{"type": "connection_ack"}', id="a-servers-message"),
    ],
)
async def test_a_malformed_message_closes_4400(live, admin_token, message):
    origin = live.origin
    async with socket(origin) as ws:
        await init(ws, admin_token)
        await send(ws, message)
        code, reason, _ = await closed_with(ws)
    assert code == 4400 and reason.startswith("Invalid message received")


async def test_a_duplicate_operation_id_closes_4409(live, admin_token):
    origin = live.origin
    async with socket(origin) as ws:
        await init(ws, admin_token)
        # Both arrive before the first can finish: its id is still in use.
        await send(ws, {"id": "same", "type": "subscribe", "payload": {"query": QUERY}})
        await send(ws, {"id": "same", "type": "subscribe", "payload": {"query": QUERY}})
        code, reason, _ = await closed_with(ws)
    assert (code, reason) == (4409, "Subscriber for same already exists")


async def test_the_legacy_subprotocol_is_refused_4406(live):
    origin = live.origin
    async with socket(origin, subprotocols=("graphql-ws",)) as ws:
        code, reason, _ = await closed_with(ws)
    assert (code, reason) == (4406, "Subprotocol not acceptable")


async def test_an_internal_error_closes_4500_without_details_and_is_logged_with_its_request_id(
    live, admin_token, caplog
):
    app, origin = live.app, live.origin
    [view] = [route.endpoint for route in app.routes if isinstance(route, Route) and route.path == "/graphql"]

    async def broken(prepared, scope, **options):
        raise RuntimeError("secret internals")

    original, view.fast_path.execute = view.fast_path.execute, broken
    try:
        async with socket(origin) as ws:
            await init(ws, admin_token)
            await subscribe(ws, "boom", QUERY)
            code, reason, seen = await closed_with(ws)
    finally:
        view.fast_path.execute = original
    assert (code, reason, seen) == (4500, "Internal server error", [])
    [record] = [r for r in caplog.records if "unexpected error in socket operation" in r.getMessage()]
    assert "secret internals" in str(record.exc_info[1])
    assert "(request " in record.getMessage()


async def test_a_client_ping_is_answered_with_a_pong_and_complete_for_unknown_ids_is_ignored(live, admin_token):
    origin = live.origin
    async with socket(origin) as ws:
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        await init(ws, admin_token)
        await send(ws, {"id": "never-started", "type": "complete"})
        await send(ws, {"type": "ping", "payload": {"at": 1}})
        assert await receive(ws) == {"type": "pong"}


@pytest.mark.parametrize("cache_seconds", [0, 1], ids=["every ping looks the user up", "answers cached for 1 s"])
async def test_a_socket_whose_user_is_disabled_closes_4403_at_a_following_ping(accounts_settings, cache_seconds):
    """With answers cached, pings that find the user's answer still standing check nothing
    more; the first ping after it ran out looks the user up again."""
    settings = replace(
        accounts_settings,
        check_token_users=True,
        token_user_cache_seconds=cache_seconds,
        ws_ping_interval_ms=200,
        ws_silence_timeout_ms=5_000,
    )
    email = f"socket-leaver-{cache_seconds}@acme.example"
    create_user(settings, org="acme", email=email, password="x" * 16, roles=["analyst"])
    token = token_for_user(settings, email)
    async with live_server(settings) as server, socket(server.origin) as ws:
        await init(ws, token)
        await asyncio.sleep(0.5)  # a few pings answered
        disable_user(settings, org="acme", email=email)
        code, reason, seen = await closed_with(ws, within=3)
    assert code == 4403 and "disabled" in reason
    assert {m["type"] for m in seen} <= {"ping"}
