"""Shared fixtures: a real PostgreSQL, migrated and seeded databases, and the ASGI app."""

from __future__ import annotations

from dataclasses import replace
from typing import AsyncIterator, Callable, Iterator

import httpx
import pytest
from sqlalchemy.engine import URL

from app.config import Settings
from app.migrations import upgrade
from tests.db import TestServer

SEED = 7


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    server = TestServer()
    yield server
    server.stop()


@pytest.fixture
def fresh_database(pg_server: TestServer) -> Iterator[Callable[[], URL]]:
    """A factory of empty databases, dropped after the test."""
    made: list[URL] = []

    def make() -> URL:
        url = pg_server.create_database()
        made.append(url)
        return url

    yield make
    for url in made:
        pg_server.drop_database(url)


@pytest.fixture(scope="session")
def seeded_url(pg_server: TestServer) -> Iterator[URL]:
    """One database, migrated and seeded with the tiny data set, shared read-only by tests."""
    from app.seed import run_seed

    url = pg_server.create_database("bizgraph_seeded")
    upgrade(url)
    run_seed(url, scale="tiny", seed=SEED, reset=False, progress=False)
    yield url
    pg_server.drop_database(url)


@pytest.fixture(scope="session")
def demo_settings(seeded_url: URL) -> Settings:
    return replace(Settings.from_env({}), database_url=seeded_url, demo=True)


@pytest.fixture(scope="session")
async def app(demo_settings: Settings):
    from app.server import create_app

    application = create_app(demo_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bizgraph.test") as http:
        yield http
