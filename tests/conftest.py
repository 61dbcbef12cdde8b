"""Shared fixtures: a real PostgreSQL, migrated and seeded databases, signing keys, and the
ASGI app with a client that authenticates as the admin of the first organization (acme)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy.engine import URL

from app.auth.keys import write_new_es256_key
from app.config import Settings
from app.migrations import upgrade
from tests.support.auth import bearer, token_for_user
from tests.support.db import TestServer
from tests.support.graphql import running_app
from tests.support.smtp import SmtpSink

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
def signing_key(tmp_path_factory: pytest.TempPathFactory):
    """The test app's signing key (EC P-256), made fresh for the run."""
    return write_new_es256_key(tmp_path_factory.mktemp("keys") / "signing.pem")


@pytest.fixture(scope="session")
def demo_settings(seeded_url: URL, signing_key) -> Settings:
    return replace(
        Settings.from_env({}),
        database_url=seeded_url,
        demo=True,
        signing_keys=(signing_key,),
        # The suite fails sign-ins on purpose, all from one address: the throttle's own
        # tests (tests/auth/test_token_hardening.py) set small limits on apps of their own.
        login_failures_before_delay=10_000,
        login_failures_before_lockout=10_000,
        # Most tests act as made-up principals (tests.support.auth.token_for), who are
        # no rows of the users table; the user check has its own tests with it on.
        check_token_users=False,
    )


@pytest.fixture(scope="session")
def admin_headers(demo_settings: Settings) -> dict[str, str]:
    """``Authorization`` for the seeded admin of acme, the first organization."""
    return bearer(token_for_user(demo_settings, "admin@acme.example"))


@pytest.fixture(scope="session")
async def served(demo_settings: Settings, admin_headers):
    async with running_app(demo_settings, admin_headers) as pair:
        yield pair


@pytest.fixture(scope="session")
def app(served):
    return served[0]


@pytest.fixture(scope="session")
def client(served) -> httpx.AsyncClient:
    """Sends the acme admin's token unless a request says otherwise."""
    return served[1]


def _seeded_copy(pg_server: TestServer, demo_settings: Settings, name: str) -> Iterator[Settings]:
    """Settings for a database of its own, migrated and seeded like the shared one."""
    from app.seed import run_seed

    url = pg_server.create_database(name)
    upgrade(url)
    run_seed(url, scale="tiny", seed=SEED, reset=False, progress=False)
    yield replace(demo_settings, database_url=url)
    pg_server.drop_database(url)


@pytest.fixture(scope="session")
def accounts_settings(pg_server: TestServer, demo_settings: Settings) -> Iterator[Settings]:
    """A second seeded database, for tests that add users and service clients (the
    shared one stays exactly as seeded)."""
    yield from _seeded_copy(pg_server, demo_settings, "bizgraph_accounts")


@pytest.fixture(scope="session")
async def accounts_served(accounts_settings: Settings):
    async with running_app(accounts_settings) as pair:
        yield pair


@pytest.fixture(scope="session")
def accounts_app(accounts_served):
    return accounts_served[0]


@pytest.fixture(scope="session")
def accounts_client(accounts_served) -> httpx.AsyncClient:
    """A client of ``accounts_app`` that sends no token unless told to."""
    return accounts_served[1]


@pytest.fixture(scope="session")
def writes_settings(pg_server: TestServer, demo_settings: Settings) -> Iterator[Settings]:
    """A seeded database of its own for the mutation tests, which change it."""
    yield from _seeded_copy(pg_server, demo_settings, "bizgraph_writes")


@pytest.fixture(scope="session")
async def writes_served(writes_settings: Settings):
    async with running_app(writes_settings) as pair:
        yield pair


@pytest.fixture(scope="session")
def writes_app(writes_served):
    return writes_served[0]


@pytest.fixture(scope="session")
def writes_client(writes_served) -> httpx.AsyncClient:
    """A client of ``writes_app``; every request names its token (``tests.support.workflow.token``)."""
    return writes_served[1]


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server in this process (aiosmtpd) that keeps what it receives."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()
