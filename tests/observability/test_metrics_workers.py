"""``bizgraph serve --workers 2`` with /metrics on: each worker counts what it answered, and a
scrape answered by either worker sums both (prometheus_client's multiprocess mode, in a
directory the supervisor makes for the run). Which worker takes a connection is steered by
stopping the other for a moment (SIGSTOP), as in tests/live/test_serve_workers.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.conftest import _seeded_copy
from tests.live.test_live_processes import ADMIN, graphql
from tests.live.test_serve_workers import paused
from tests.observability.metrics_text import METRICS_HEADERS, TOKEN, value
from tests.support.auth import token_for_user
from tests.support.serving import serve_environment, serve_process, worker_pids
from tests.support.websocket_client import eventually

QUERY = "query WorkersCount { customers(first: 1) { totalCount } }"
LABELS = {"operation": "WorkersCount", "type": "query", "outcome": "ok"}


@pytest.fixture(scope="module")
def metrics_workers_settings(pg_server, demo_settings: Settings) -> Iterator[Settings]:
    yield from _seeded_copy(pg_server, demo_settings, "bizgraph_metrics_workers")


async def scrape(origin: str) -> str:
    async with httpx.AsyncClient(base_url=origin, timeout=10) as http:
        response = await http.get("/metrics", headers=METRICS_HEADERS)
    assert response.status_code == 200, response.text
    return response.text


async def eventually_counted(origin: str, requests: int, attempts: int = 50) -> None:
    """Scrapes (through whichever worker answers) until ``requests`` are counted."""
    for _ in range(attempts):
        if value(await scrape(origin), "bizgraph_graphql_requests_total", **LABELS) == requests:
            return
        await asyncio.sleep(0.2)  # the other worker flushes every second
    raise AssertionError(f"{requests} requests not counted after {attempts} scrapes")


@pytest.mark.timeout(90)
async def test_a_scrape_through_either_worker_counts_both(metrics_workers_settings: Settings, signing_key: Path):
    assert metrics_workers_settings.database_url is not None
    token = token_for_user(metrics_workers_settings, ADMIN)
    env = serve_environment(metrics_workers_settings.database_url, signing_key, BIZGRAPH_METRICS_TOKEN=TOKEN)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    async with serve_process(env, workers=2, ready_within=40) as server:
        await eventually(lambda: len(worker_pids(server.process.pid)) == 2, 30)
        first, second = worker_pids(server.process.pid)
        # Three queries answered by the first worker, two by the second
        with paused(second):
            for _ in range(3):
                await graphql(server.origin, token, QUERY)
        with paused(first):
            for _ in range(2):
                await graphql(server.origin, token, QUERY)
        # Each worker writes what it counted to the shared files within a second
        await eventually_counted(server.origin, 5)
        # Then each worker's scrape sees all five
        with paused(second):
            through_first = await scrape(server.origin)
        with paused(first):
            through_second = await scrape(server.origin)
    assert value(through_first, "bizgraph_graphql_requests_total", **LABELS) == 5
    assert value(through_second, "bizgraph_graphql_requests_total", **LABELS) == 5
    # Each worker's pool counts once in the sum over live workers
    assert value(through_second, "bizgraph_db_pool_size") == 2 * metrics_workers_settings.pool_size
