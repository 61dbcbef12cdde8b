"""``/readyz`` tells the truth: it asks PostgreSQL (at most once a second), and while
the database is unreachable it and every query answer 503 with ``Retry-After``
and a code a client retries on; when the database is back, both recover."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
import pytest

from tests.support.graphql import count_statements, running_app
from tests.support.wire import cuttable_proxy

FAST_PATH_QUERY = "{ customers(first: 2) { totalCount nodes { name } } }"
# ``__typename`` at the root is not planned: the standard way answers it.
STANDARD_PATH_QUERY = "{ __typename customers(first: 2) { totalCount } }"
CACHE_SECONDS = 1.0  # readiness asks the database at most this often
# asyncio may wake a sleeper up to its clock resolution early: sleep past the cache for sure.
PAST_THE_CACHE = CACHE_SECONDS + 0.1


@pytest.fixture
async def proxied(demo_settings, admin_headers):
    """The app, reaching the seeded database through a proxy the test can cut."""
    async with cuttable_proxy(demo_settings.database_url) as proxy:
        settings = replace(demo_settings, database_url=proxy.url)
        async with running_app(settings, admin_headers) as (app, client):
            yield proxy, app, client


def assert_unavailable(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["retry-after"]) > 0
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code and error["extensions"]["requestId"]


async def test_readyz_answers_from_the_database_at_most_once_a_second(proxied):
    _proxy, app, client = proxied
    with count_statements(app) as statements:
        answers = [await client.get("/readyz") for _ in range(20)]
    assert {(r.status_code, r.headers["content-type"]) for r in answers} == {(200, "application/json")}
    assert answers[0].json() == {"ready": True, "listening": True}
    assert statements == ["SELECT 1"]


async def test_a_database_outage_is_503_everywhere_and_recovery_needs_no_restart(proxied):
    proxy, _app, client = proxied
    for query in (FAST_PATH_QUERY, STANDARD_PATH_QUERY):  # connections in the pool, then cut under them
        assert (await client.post("/graphql", json={"query": query})).status_code == 200
    assert (await client.get("/readyz")).status_code == 200

    await proxy.cut()
    await asyncio.sleep(PAST_THE_CACHE)
    assert_unavailable(await client.get("/readyz"), "DATABASE_UNAVAILABLE")
    for query in (FAST_PATH_QUERY, STANDARD_PATH_QUERY, FAST_PATH_QUERY):
        assert_unavailable(await client.post("/graphql", json={"query": query}), "DATABASE_UNAVAILABLE")
    assert (await client.get("/livez")).status_code == 200  # alive: restarting it would not help

    await proxy.restore()
    await asyncio.sleep(PAST_THE_CACHE)
    # Ready whether or not the change feed has reconnected yet (tests/live cover it).
    assert (await client.get("/readyz")).json()["ready"] is True
    for query in [FAST_PATH_QUERY, STANDARD_PATH_QUERY] * 10:
        response = await client.post("/graphql", json={"query": query})
        assert response.status_code == 200 and "errors" not in response.json(), response.text


async def test_readyz_is_503_once_shutdown_begins(demo_settings):
    from app.server import create_app

    app = create_app(demo_settings)
    async with app.router.lifespan_context(app):
        pass  # started, then draining and stopped
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bizgraph.test") as client:
        assert_unavailable(await client.get("/readyz"), "SHUTTING_DOWN")
