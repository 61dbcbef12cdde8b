"""Safe targets: what an endpoint may point at, checked at registration and again,
after DNS resolution, before every attempt."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from app.delivery.settings import WebhookSettings
from app.delivery.targets import TargetRefused, check_url, refused_address, resolve
from tests.support.graphql import data, gql, running_app, sql
from tests.support.receiver import receiving
from tests.webhooks.conftest import CREATE, create_endpoint, create_product, run_until_quiet

pytestmark = pytest.mark.usefixtures("clean")


@pytest.fixture
async def strict_client(hooks_settings):
    """The app as production runs it: https only, no address allowed inside."""
    settings = replace(hooks_settings, webhooks=replace(hooks_settings.webhooks, allowed_networks=(), allow_http=False))
    async with running_app(settings) as (_, client):
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",  # loopback
        "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "https://localhost:8443/hooks",  # a name that resolves to 127.0.0.1
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",  # IPv4 inside IPv6
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://0.0.0.0/hooks",
        "http://example.com/hooks",  # plain http outside development
        "ftp://example.com/hooks",
        "https://user:secret@example.com/hooks",
    ],
)
async def test_unsafe_targets_are_refused_and_nothing_is_stored(strict_client, admin, hooks_settings, url):
    body = await gql(strict_client, CREATE, {"input": {"url": url, "eventTypes": ["product.created"]}}, token=admin)
    payload = body["data"]["createWebhookEndpoint"]
    assert payload["webhookEndpoint"] is None and payload["secret"] is None
    [error] = payload["errors"]
    assert error["code"] == "INVALID" and error["field"] == ["input", "url"], error
    assert sql(hooks_settings.database_url, "SELECT count(*) FROM webhook_endpoints") == [(0,)]


def test_address_rules():
    def refused(text: str, allowed: tuple = ()) -> bool:
        return refused_address(ipaddress.ip_address(text), allowed)

    assert refused("169.254.169.254") and refused("127.0.0.1") and refused("100.64.0.1") and refused("fd00:ec2::254")
    assert refused("224.0.0.1") and refused("::ffff:10.0.0.1")
    assert not refused("93.184.216.34") and not refused("2606:4700::1111")
    assert not refused("127.0.0.1", (ipaddress.ip_network("127.0.0.0/8"),))


async def test_a_name_is_judged_by_every_address_it_resolves_to():
    with pytest.raises(TargetRefused, match=r"resolves to 127\.0\.0\.1"):
        await resolve(check_url("https://localhost/x", allow_http=False), ())
    with pytest.raises(TargetRefused, match="does not resolve"):
        await resolve(check_url("https://no-such-host.invalid/x", allow_http=False), ())
    allowed = WebhookSettings(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),)).allowed_networks
    assert str(await resolve(check_url("https://localhost/x", allow_http=False), allowed)) == "127.0.0.1"


async def test_the_worker_checks_the_target_again_before_every_attempt(hooks_client, admin, worker):
    """An endpoint accepted once (here: while loopback was allowed) that now resolves inside
    is refused at delivery time: no request leaves, the attempt says why."""
    async with receiving() as receiver:
        endpoint = await create_endpoint(hooks_client, admin, receiver.url.replace("127.0.0.1", "localhost"))
        await create_product(hooks_client, admin)
        worker.settings = replace(worker.settings, allowed_networks=())
        assert await run_until_quiet(worker) == 1
    assert receiver.requests == []
    shown = await data(
        hooks_client,
        "query($id: ID!) { webhookEndpoint(id: $id) { attempts { edges { node { statusCode error } } } } }",
        {"id": endpoint["id"]},
        token=admin,
    )
    [attempt] = [edge["node"] for edge in shown["webhookEndpoint"]["attempts"]["edges"]]
    assert attempt["statusCode"] is None and "resolves to 127.0.0.1" in attempt["error"]


async def test_redirects_are_not_followed(hooks_client, admin, worker):
    async with receiving() as target, receiving() as redirector:
        redirector.answering(then=307)
        redirector.extra_headers = [(b"location", target.url.encode())]
        await create_endpoint(hooks_client, admin, redirector.url)
        await create_product(hooks_client, admin)
        assert await worker.run_once() == 1
    assert len(redirector.requests) == 1 and target.requests == []
    [(status, code)] = sql(worker.database.url, "SELECT status, last_status_code FROM webhook_deliveries")
    assert (status, code) == ("pending", 307)  # a failed attempt, to be retried


async def test_a_response_body_is_read_up_to_the_cap_and_logged_up_to_1_kb(hooks_client, admin, worker):
    async with receiving() as receiver:
        receiver.answering(then=500)
        big = b"x" * 5_000_000
        await create_endpoint(hooks_client, admin, receiver.url)
        receiver.body_out = big
        await create_product(hooks_client, admin)
        assert await worker.run_once() == 1
    [(body,)] = sql(worker.database.url, "SELECT response_body FROM webhook_attempts")
    assert body == "x" * 1024
