"""The demo's live sales dashboard, without a browser: where it is served, what it loads, and that
the questions it asks are real ones (its subscriptions mirror Query fields with the same
arguments, so each one, asked as a query, must be answered without errors)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from graphql import parse, validate

from app.http import dashboard, graphiql
from app.server import create_app
from schema import build_schema
from tests.support.auth import token_for_user
from tests.support.browser import Chromium, find_chromium
from tests.support.graphql import gql
from tests.support.ordering import place_an_order
from tests.support.serving import serve
from tests.support.tls import self_signed_loopback
from tests.support.workflow import token


def _asset_urls(page: str) -> list[str]:
    return re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', page)


async def test_the_demo_serves_the_page_without_a_token(client):
    response = await client.get("/dashboard", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>bizgraph live sales</title>" in response.text


async def test_outside_the_demo_there_is_no_dashboard(demo_settings):
    app = create_app(replace(demo_settings, demo=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bizgraph.test") as http:
        response = await http.get("/dashboard")
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_with_built_assets_the_page_loads_nothing_from_other_hosts() -> None:
    urls = _asset_urls(dashboard.dashboard_html(assets_available=True))
    assert sorted(u for u in urls if not u.startswith("data:")) == sorted(
        f"/graphiql-assets/{asset.relative_path}" for asset in dashboard.ASSETS
    )


def test_the_built_files_are_the_published_ones() -> None:
    """The CDN fallback's integrity hashes are those of the files set-up installed."""
    assert graphiql.graphiql_assets_built(dashboard.ASSETS), "assets not built: run `bash explorer/build.sh`"
    for asset in {*dashboard.ASSETS, *graphiql.ASSETS}:
        digest = hashlib.sha384((graphiql.graphiql_assets_dir() / asset.relative_path).read_bytes()).digest()
        assert asset.integrity == "sha384-" + base64.b64encode(digest).decode(), asset.relative_path


def test_each_live_question_is_a_valid_subscription(demo_settings):
    schema = build_schema(demo_settings)._schema
    for name, document in dashboard.SUBSCRIPTIONS.items():
        assert validate(schema, parse(document)) == [], name


@pytest.mark.parametrize("name", sorted(dashboard.SUBSCRIPTIONS))
async def test_each_live_question_asked_as_a_query_is_answered(client, name):
    document = dashboard.SUBSCRIPTIONS[name]
    assert document.startswith("subscription ")
    variables = {"since": "2026-01-01T00:00:00.000Z"} if "$since" in document else {}

    result = await gql(client, "query " + document.removeprefix("subscription "), variables)

    assert "errors" not in result, result
    assert all(value is not None for value in result["data"].values()), result


# --- the page in a browser -------------------------------------------------------------------


@pytest.fixture
def chromium_binary() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium binary on PATH (Debian: apt-get install chromium; or set $CHROMIUM)")
    return binary


def _text(element_id: str) -> str:
    return f"document.getElementById({json.dumps(element_id)}).textContent"


@pytest.mark.timeout(90)
async def test_an_order_placed_through_the_api_moves_the_numbers_on_the_page(
    writes_app, writes_client, writes_settings, chromium_binary: str, tmp_path: Path
) -> None:
    assert graphiql.graphiql_assets_built(dashboard.ASSETS), "assets not built: run `bash explorer/build.sh`"
    admin = token(writes_settings, "admin")
    async with serve(writes_app) as origin, Chromium(chromium_binary) as browser:
        page = await browser.new_page()
        try:
            # Given the dashboard, with the token pasted into it, live and showing today's orders
            await page.navigate(f"{origin}/dashboard")
            await page.evaluate(
                "(() => { const input = document.getElementById('token');"
                f" input.value = {json.dumps('Bearer ' + admin)};"
                " input.dispatchEvent(new Event('change')); })()"
            )
            await page.wait_for(f"{_text('state')} === 'live' && /^\\d+$/.test({_text('orders-today')})")
            await page.wait_for("document.querySelectorAll('#by-status tr').length > 0")
            orders_before = int(await page.evaluate(_text("orders-today")))
            revenue_before = await page.evaluate(_text("revenue-today"))

            # When an order is placed through the API
            order = await place_an_order(writes_client, writes_settings)

            # Then the page shows more orders today, and more revenue, without a reload. (Both
            # figures come in one message. The writes database is shared with other tests, so
            # another order may come in too: the count must grow, not hit an exact number, and
            # the wait lasts until the revenue moved as well, rather than reading it once.)
            revenue_moved = (
                "true" if order["total"] == "0.00" else f"{_text('revenue-today')} !== {json.dumps(revenue_before)}"
            )
            await page.wait_for(
                f"Number({_text('orders-today')}) > {orders_before} && {revenue_moved}", wait_seconds=15
            )
            assert await page.evaluate(_text("problem")) == ""
        except BaseException:
            with contextlib.suppress(Exception):
                print(f"screenshot: {await page.screenshot(tmp_path / 'dashboard.png')}")
            print("browser console:\n" + "\n".join(page.console))
            raise

    # Everything came from this server, the figures over one graphql-transport-ws socket that
    # carried the token in its connection_init.
    urls = [r["url"] for r in page.requests] + page.websockets
    foreign = [u for u in urls if not u.startswith((origin + "/", origin.replace("http", "ws", 1) + "/", "data:"))]
    assert not foreign, f"the page reached beyond {origin}: {foreign}"
    assert page.websockets == [origin.replace("http", "ws", 1) + "/graphql"]
    assert not [r for r in page.requests if r["url"].startswith(origin + "/graphql")], "queries went over HTTP"
    inits = [json.loads(frame) for frame in page.frames_sent if '"connection_init"' in frame]
    assert inits == [{"type": "connection_init", "payload": {"Authorization": f"Bearer {admin}"}}]


@pytest.mark.timeout(60)
async def test_over_https_the_dashboard_subscribes_over_wss(app, chromium_binary: str, tmp_path: Path) -> None:
    admin = token_for_user(app, "admin@acme.example")
    tls = self_signed_loopback(tmp_path)
    async with (
        serve(app, tls=tls) as origin,
        Chromium(chromium_binary, extra_args=("--ignore-certificate-errors",)) as browser,
    ):
        page = await browser.new_page()
        await page.navigate(f"{origin}/dashboard")
        await page.evaluate(
            "(() => { const input = document.getElementById('token');"
            f" input.value = {json.dumps(admin)}; input.dispatchEvent(new Event('change')); }})()"
        )
        for _ in range(150):
            if page.websockets:
                break
            await asyncio.sleep(0.1)

    assert page.websockets and set(page.websockets) == {origin.replace("https://", "wss://", 1) + "/graphql"}
