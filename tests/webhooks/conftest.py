"""A seeded database of its own for the webhook tests, its app (loopback allowed, http
allowed: development), admin and other principals' tokens, a movable clock, and workers."""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest

from app.config import Settings
from app.db import Database
from app.delivery.settings import WebhookSettings, demo_key
from app.delivery.worker import Worker
from tests.conftest import _seeded_copy
from tests.support.auth import token_for, token_for_user
from tests.support.db import conninfo
from tests.support.graphql import data, gql, running_app

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture(scope="session")
def hooks_settings(pg_server, demo_settings: Settings) -> Iterator[Settings]:
    for settings in _seeded_copy(pg_server, demo_settings, "bizgraph_webhooks"):
        yield replace(
            settings,
            webhooks=WebhookSettings(secret_keys=(demo_key(),), allowed_networks=LOOPBACK, allow_http=True, poll_ms=50),
        )


@pytest.fixture(scope="session")
async def hooks_served(hooks_settings: Settings):
    async with running_app(hooks_settings) as pair:
        yield pair


@pytest.fixture(scope="session")
def hooks_client(hooks_served) -> httpx.AsyncClient:
    return hooks_served[1]


@pytest.fixture(scope="session")
def admin(hooks_settings: Settings) -> str:
    return token_for_user(hooks_settings, "admin@acme.example")


@pytest.fixture(scope="session")
def other_admin(hooks_settings: Settings) -> str:
    return token_for_user(hooks_settings, "admin@globex.example")


@pytest.fixture
def clean(hooks_settings: Settings) -> Iterator[None]:
    """Each test starts and ends without endpoints (their deliveries and attempts go with them)."""
    execute(hooks_settings.database_url, "DELETE FROM webhook_endpoints")
    yield
    execute(hooks_settings.database_url, "DELETE FROM webhook_endpoints")


def execute(url: Any, statement: str, *params: Any) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(statement, params or None)


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


@pytest.fixture
async def database(hooks_settings: Settings) -> AsyncIterator[Database]:
    db = Database(hooks_settings)
    yield db
    await db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def worker(database: Database, hooks_settings: Settings, clock: Clock) -> AsyncIterator[Worker]:
    one = Worker(database, hooks_settings.webhooks, clock=clock, rng=random.Random(7))
    yield one
    await one.close()


ENDPOINT_FIELDS = "id url enabled disabledReason eventTypes queueDepth attemptCount failedAttemptCount version"

CREATE = f"""
mutation($input: CreateWebhookEndpointInput!) {{
  createWebhookEndpoint(input: $input) {{
    webhookEndpoint {{ {ENDPOINT_FIELDS} }} secret errors {{ code field message }}
  }}
}}"""

CREATE_PRODUCT = """
mutation($input: CreateProductInput!) {
  createProduct(input: $input) { product { id sku version } errors { code message } }
}"""

UPDATE_PRODUCT = """
mutation($input: UpdateProductInput!) {
  updateProduct(input: $input) { product { id version } errors { code message } }
}"""


async def create_endpoint(client: httpx.AsyncClient, token: str, url: str, **extra: Any) -> dict[str, Any]:
    """An endpoint made through the API; its fields and its secret."""
    input = {"url": url, "eventTypes": ["product.created", "product.updated"], **extra}
    payload = (await data(client, CREATE, {"input": input}, token=token))["createWebhookEndpoint"]
    assert payload["errors"] == [], payload["errors"]
    return {**payload["webhookEndpoint"], "secret": payload["secret"]}


_skus = iter(range(10**9))


async def create_product(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    sku = f"WH-{random.randrange(10**9)}-{next(_skus)}"
    input = {"sku": sku, "name": f"Hook {sku}", "unitPrice": "9.50"}
    payload = (await data(client, CREATE_PRODUCT, {"input": input}, token=token))["createProduct"]
    assert payload["errors"] == [], payload["errors"]
    return payload["product"]


async def rename_product(client: httpx.AsyncClient, token: str, product: dict[str, Any], name: str) -> dict[str, Any]:
    input = {"id": product["id"], "name": name, "version": product["version"]}
    payload = (await data(client, UPDATE_PRODUCT, {"input": input}, token=token))["updateProduct"]
    assert payload["errors"] == [], payload["errors"]
    product["version"] = payload["product"]["version"]
    return product


async def run_until_quiet(worker: Worker, rounds: int = 20) -> int:
    """Rounds until one makes no attempt; the attempts made."""
    made = 0
    for _ in range(rounds):
        done = await worker.run_once()
        made += done
        if done == 0:
            return made
    raise AssertionError("the worker kept finding work")


def gql_token(client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str) -> Any:
    return gql(client, query, variables, token=token)


def staff_token(settings: Settings, role: str, org_id: int = 1) -> str:
    return token_for(settings, org_id=org_id, roles=[role])
