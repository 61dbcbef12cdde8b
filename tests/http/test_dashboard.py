"""The demo's live sales dashboard, without a browser: where it is served, what it loads, and that
the questions it asks are real ones (its subscriptions mirror Query fields with the same
arguments, so each one, asked as a query, must be answered without errors)."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace

import httpx
import pytest
from graphql import parse, validate

from app.http import dashboard, graphiql
from app.server import create_app
from schema import build_schema
from tests.support.graphql import gql


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
