"""``bizgraph serve`` as a process: stopped (SIGTERM), it closes its sockets with 1001 "Going
away" — not with the server's own 1012 — after what was queued, and exits without an error."""

from __future__ import annotations

import asyncio
import os
import signal
import socket as stdlib_socket
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.auth import token_for_user
from tests.support.websocket_client import closed_with, init, receive, socket, subscribe

BIZGRAPH = str(Path(sys.executable).parent / "bizgraph")


def free_port() -> int:
    with stdlib_socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.timeout(60)
async def test_a_stopped_server_closes_its_sockets_going_away_and_exits(demo_settings, signing_key):
    assert demo_settings.database_url is not None
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": demo_settings.database_url.render_as_string(hide_password=False),
        "BIZGRAPH_SIGNING_KEYS": str(signing_key),
        "BIZGRAPH_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        BIZGRAPH, "serve", "--port", str(port), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=origin) as http:
            for _ in range(200):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        async with socket(origin) as ws:
            await init(ws, token_for_user(demo_settings, "admin@acme.example"))
            await subscribe(ws, "live", "subscription { customers(first: 1) { totalCount } }")
            assert (await receive(ws))["type"] == "next"
            process.send_signal(signal.SIGTERM)
            code, reason, _ = await closed_with(ws, within=10)
        assert (code, reason) == (1001, "Going away")
        _, err = await asyncio.wait_for(process.communicate(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # uvicorn stops gracefully, then lets the signal it caught end the process as it would have.
    assert process.returncode in (0, -signal.SIGTERM), err.decode()
    assert "Traceback" not in err.decode() and "ERROR" not in err.decode(), err.decode()
