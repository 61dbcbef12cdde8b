"""A seeded database of its own for the email tests (they send about what they
change), the app serving it, a real SMTP server in process, and dispatchers
with a clock the test moves."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.config import Settings
from app.db import Database
from app.notifications import EmailDispatcher, SmtpSettings
from tests.conftest import _seeded_copy
from tests.support.db import TestServer
from tests.support.graphql import running_app
from tests.support.smtp import SmtpSink

DEFAULT_FROM = "mailer@bizgraph.test"


class FakeClock:
    """Real time at first; ``advance`` moves it on without waiting."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


@pytest.fixture(scope="session")
def mail_settings(pg_server: TestServer, demo_settings: Settings) -> Iterator[Settings]:
    yield from _seeded_copy(pg_server, demo_settings, "bizgraph_mail")


@pytest.fixture(scope="session")
async def mail_served(mail_settings: Settings):
    async with running_app(mail_settings) as pair:
        yield pair


@pytest.fixture(scope="session")
def mail_app(mail_served):
    return mail_served[0]


@pytest.fixture(scope="session")
def mail_client(mail_served) -> httpx.AsyncClient:
    """Sends no token unless a request names one."""
    return mail_served[1]


@pytest.fixture
async def mail_database(mail_settings: Settings) -> AsyncIterator[Database]:
    database = Database(mail_settings)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_dispatcher(mail_database: Database, smtp: SmtpSink, clock: FakeClock):
    def make(smtp_timeout_seconds: float = 5, **extra) -> EmailDispatcher:
        return EmailDispatcher(
            mail_database,
            SmtpSettings(host=smtp.host, port=smtp.port, timeout_seconds=smtp_timeout_seconds),
            default_from=DEFAULT_FROM,
            clock=clock,
            rng=random.Random(7),
            **extra,
        )

    return make


@pytest.fixture
async def dispatcher(make_dispatcher) -> EmailDispatcher:
    """A dispatcher that has caught up: what earlier tests left is sent before the test acts."""
    made = make_dispatcher()
    await made.run_once()
    return made
