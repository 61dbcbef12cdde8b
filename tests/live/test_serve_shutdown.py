"""``bizgraph serve`` as a process: stopped (SIGTERM), it closes its sockets with 1001 "Going
away" — not with the server's own 1012 — after what was queued, and exits without an error."""

from __future__ import annotations

import signal

import pytest

from tests.support.auth import token_for_user
from tests.support.serving import serve_environment, serve_process
from tests.support.websocket_client import closed_with, init, receive, socket, subscribe


@pytest.mark.timeout(60)
async def test_a_stopped_server_closes_its_sockets_going_away_and_exits(demo_settings, signing_key):
    assert demo_settings.database_url is not None
    async with serve_process(serve_environment(demo_settings.database_url, signing_key)) as server:
        async with socket(server.origin) as ws:
            await init(ws, token_for_user(demo_settings, "admin@acme.example"))
            await subscribe(ws, "live", "subscription { customers(first: 1) { totalCount } }")
            assert (await receive(ws))["type"] == "next"
            server.process.send_signal(signal.SIGTERM)
            code, reason, _ = await closed_with(ws, within=10)
        assert (code, reason) == (1001, "Going away")
        err = await server.stopped()
    # Drained as asked: a clean exit, not an end by the signal.
    assert server.process.returncode == 0, err
    assert "Traceback" not in err and "ERROR" not in err, err
