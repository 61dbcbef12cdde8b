"""The socket's edges: allowed origins at the upgrade, the connection cap, the server's pings
and the reaping of silent sockets, and shutdown (1001 after what was queued)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from websockets.exceptions import InvalidStatus

from tests.support.auth import token_for_user
from tests.support.websocket_client import closed_with, init, live_server, receive, send, socket, subscribe


@pytest.fixture(scope="module")
def admin_token(demo_settings):
    return token_for_user(demo_settings, "admin@acme.example")


# --- origins ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def same_origin_only(demo_settings):
    async with live_server(demo_settings) as server:
        yield server


async def test_by_default_a_page_of_the_server_itself_may_open_a_socket(same_origin_only, admin_token):
    async with socket(same_origin_only.origin, browser_origin=same_origin_only.origin) as ws:
        await init(ws, admin_token)


async def test_a_client_sending_no_origin_is_not_a_browser_and_may_open_a_socket(same_origin_only, admin_token):
    async with socket(same_origin_only.origin) as ws:
        await init(ws, admin_token)


async def test_another_sites_page_is_refused_at_the_upgrade_with_403(same_origin_only):
    with pytest.raises(InvalidStatus) as refused:
        async with socket(same_origin_only.origin, browser_origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_configured_origins_are_allowed_and_others_refused(demo_settings, admin_token):
    settings = replace(demo_settings, allowed_origins=frozenset({"https://app.example.com"}))
    async with live_server(settings) as server:
        async with socket(server.origin, browser_origin="https://app.example.com") as ws:
            await init(ws, admin_token)
        for refused_origin in ("https://evil.example", server.origin):
            with pytest.raises(InvalidStatus) as refused:
                async with socket(server.origin, browser_origin=refused_origin):
                    pass
            assert refused.value.response.status_code == 403


# --- caps -------------------------------------------------------------------------------------


async def test_past_the_connection_cap_a_socket_is_closed_1013_and_the_others_go_on(demo_settings, admin_token):
    async with live_server(replace(demo_settings, max_live_connections=2)) as server:
        async with socket(server.origin) as first, socket(server.origin) as second:
            await init(first, admin_token)
            await init(second, admin_token)
            async with socket(server.origin) as third:
                code, reason, _ = await closed_with(third)
            assert (code, reason) == (1013, "Too many connections: try again later")
            await subscribe(first, "still", "{ me { roles } }")
            assert (await receive(first))["type"] == "next"
        # Closed sockets give their places back.
        async with socket(server.origin) as again:
            await init(again, admin_token)


# --- pings and reaping ------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def quick_pings(demo_settings):
    settings = replace(demo_settings, ws_ping_interval_ms=200, ws_silence_timeout_ms=700)
    async with live_server(settings) as server:
        yield server


async def test_the_server_pings_and_a_client_that_answers_stays(quick_pings, admin_token):
    async with socket(quick_pings.origin) as ws:
        await init(ws, admin_token)
        for _ in range(5):  # 1 s: longer than the silence allowed, kept alive by its pongs
            assert await receive(ws, within=1) == {"type": "ping"}
            await send(ws, {"type": "pong"})
        await subscribe(ws, "alive", "{ me { roles } }")
        message = await receive(ws)
        while message["type"] == "ping":
            message = await receive(ws)
        assert message["type"] == "next"


async def test_a_socket_that_answers_nothing_is_reaped_within_its_silence_timeout(quick_pings, admin_token):
    async with socket(quick_pings.origin) as ws:
        await init(ws, admin_token)
        started = asyncio.get_running_loop().time()
        code, reason, seen = await closed_with(ws, within=3)
        waited = asyncio.get_running_loop().time() - started
    assert (code, reason) == (4504, "No answer to pings")
    assert {m["type"] for m in seen} == {"ping"}
    assert 0.5 < waited < 1.5


def test_the_default_timings_reap_a_dead_socket_within_30_seconds(demo_settings):
    assert demo_settings.ws_silence_timeout_ms <= 30_000
    assert demo_settings.ws_ping_interval_ms < demo_settings.ws_silence_timeout_ms


# --- shutdown ---------------------------------------------------------------------------------


async def test_shutdown_closes_sockets_with_1001_going_away_and_refuses_new_ones(demo_settings, admin_token):
    async with live_server(demo_settings) as server:
        async with socket(server.origin) as ws:
            await init(ws, admin_token)
            await subscribe(ws, "before", "{ me { roles } }")
            assert (await receive(ws))["type"] == "next"
            await server.app.state.live_edge.drain()
            code, reason, _ = await closed_with(ws)
        assert (code, reason) == (1001, "Going away")
        assert server.app.state.live_edge.open == set()
        async with socket(server.origin) as late:
            code, _, _ = await closed_with(late)
        assert code == 1001
