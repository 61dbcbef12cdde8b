"""bizgraph behind a real PgBouncer in transaction mode (``BIZGRAPH_POOLER=transaction``).

Every transaction may run on another server session, and every server session serves many
clients' transactions in turn (the pooler here has two per database). So: queries (the same one
many times: never a server-side prepared statement, which the next session would not know),
mutations, subscriptions (the change feed's LISTEN bypasses the pooler through
``BIZGRAPH_LISTEN_DATABASE_URL``) and tenant isolation all go through it, and afterwards the
pooler's server sessions carry nothing of bizgraph's: organization, role, time zone and
statement timeout were set for each transaction alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import URL

from app.config import Settings, libpq_conninfo
from tests.conftest import _seeded_copy
from tests.support.auth import bearer, token_for_user
from tests.support.graphql import sql
from tests.support.pgbouncer import missing_reason, pgbouncer
from tests.support.websocket_client import LiveServer, init, live_server, receive, socket, subscribe

CUSTOMERS = "{ customers(first: 100) { totalCount edges { node { name } } } }"
COUNT = "subscription { customers(first: 1) { totalCount } }"
CREATE = """mutation($name: String!) {
  createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) {
    customer { name } errors { code }
  }
}"""


@pytest.fixture(scope="module")
def direct_settings(pg_server, demo_settings: Settings) -> Iterator[Settings]:
    yield from _seeded_copy(pg_server, demo_settings, "bizgraph_pgbouncer")


@pytest.fixture(scope="module")
def bouncer(pg_server, direct_settings: Settings) -> Iterator[URL]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    assert direct_settings.database_url is not None
    with pgbouncer(direct_settings.database_url, pool_size=2) as url:
        yield url


@pytest.fixture(scope="module")
async def server(direct_settings: Settings, bouncer: URL) -> AsyncIterator[LiveServer]:
    settings = replace(
        direct_settings,
        database_url=bouncer,
        listen_database_url=direct_settings.database_url,
        transaction_pooler=True,
        prepared_statements=False,
    )
    async with live_server(settings) as served:
        yield served


async def post(server: LiveServer, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = await server.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=bearer(token)
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def names_of(settings: Settings, slug: str) -> set[str]:
    rows = sql(
        settings.database_url,
        "SELECT c.name FROM customers c JOIN organizations o ON o.id = c.org_id WHERE o.slug = %s",
        slug,
    )
    return {name for (name,) in rows}


async def test_queries_from_two_organizations_interleaved_see_only_their_own(server, direct_settings):
    tokens = {slug: token_for_user(direct_settings, f"admin@{slug}.example") for slug in ("acme", "globex")}
    expected = {slug: names_of(direct_settings, slug) for slug in tokens}
    assert expected["acme"] and expected["globex"] and not expected["acme"] & expected["globex"]
    # Forty requests at once, alternating organizations, over two server sessions: the same
    # statement many times over (past psycopg's threshold for preparing it).
    slugs = ["acme", "globex"] * 20
    answers = await asyncio.gather(*(post(server, tokens[slug], CUSTOMERS) for slug in slugs))
    for slug, answer in zip(slugs, answers, strict=True):
        names = {edge["node"]["name"] for edge in answer["customers"]["edges"]}
        assert answer["customers"]["totalCount"] == len(expected[slug])
        assert names <= expected[slug] and len(names) == min(100, len(expected[slug]))


async def test_a_mutation_commits_and_a_subscriber_hears_it(server, direct_settings):
    token = token_for_user(direct_settings, "admin@acme.example")
    async with socket(server.origin) as ws:
        await init(ws, token)
        await subscribe(ws, "live", COUNT)
        before = (await receive(ws))["payload"]["data"]["customers"]["totalCount"]
        created = await post(server, token, CREATE, {"name": "Pooled Customer GmbH"})
        assert created["createCustomer"] == {"customer": {"name": "Pooled Customer GmbH"}, "errors": []}
        message = await receive(ws, within=10)
        assert message["type"] == "next" and message["payload"]["data"]["customers"]["totalCount"] == before + 1
    assert "Pooled Customer GmbH" in names_of(direct_settings, "acme")
    assert "Pooled Customer GmbH" not in names_of(direct_settings, "globex")


async def test_the_poolers_sessions_keep_nothing_of_bizgraphs_transactions(server, direct_settings, bouncer):
    token = token_for_user(direct_settings, "admin@globex.example")
    await asyncio.gather(*(post(server, token, CUSTOMERS) for _ in range(10)))
    # Clients of the pooler after bizgraph's transactions, on the same two server sessions.
    for _ in range(6):
        with psycopg.connect(libpq_conninfo(bouncer), autocommit=True) as connection:
            row = connection.execute(
                "SELECT coalesce(current_setting('bizgraph.org_id', true), ''), current_user,"
                " current_setting('TimeZone'), current_setting('statement_timeout')"
            ).fetchone()
        defaults = sql(
            direct_settings.database_url,
            "SELECT current_user, current_setting('TimeZone'), current_setting('statement_timeout')",
        )[0]
        assert row == ("", *defaults)
