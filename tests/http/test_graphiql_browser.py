"""GraphiQL as a person meets it: served by bizgraph, opened in a real (headless) Chromium that
cannot reach any other host, running a query through GraphiQL's own run button.

The app is served on a real loopback port (``tests.support.serving``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from pathlib import Path

import pytest

from app.http import dashboard, graphiql
from tests.support.auth import token_for_user
from tests.support.browser import Chromium, Page, find_chromium
from tests.support.ordering import place_an_order
from tests.support.serving import serve
from tests.support.tls import self_signed_loopback

REPO = Path(__file__).resolve().parents[2]
QUERY = "{ customers(first: 5) { edges { node { id name } } } }"


# --- the page itself, no browser needed -----------------------------------------------------


def _asset_urls(page: str) -> list[str]:
    return re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', page)


def test_page_with_built_assets_loads_nothing_from_other_hosts() -> None:
    page = graphiql.graphiql_html(assets_available=True)
    urls = _asset_urls(page)
    assert "<title>bizgraph explorer</title>" in page
    assert len([u for u in urls if u.startswith("/graphiql-assets/")]) == len(graphiql.ASSETS)
    assert all(u.startswith(("/graphiql-assets/", "data:")) for u in urls), urls


@pytest.mark.parametrize(
    ("assets", "render"),
    [
        (graphiql.ASSETS, graphiql.graphiql_html),
        (dashboard.ASSETS, dashboard.dashboard_html),
    ],
    ids=["explorer", "dashboard"],
)
def test_cdn_fallback_pins_the_locked_versions_with_integrity(assets, render) -> None:
    lock = json.loads((REPO / "explorer" / "package-lock.json").read_text())
    page = render(assets_available=False)
    for asset in assets:
        assert lock["packages"][f"node_modules/{asset.package}"]["version"] == asset.version
        assert f'src="{asset.url(local=False)}" integrity="{asset.integrity}"' in page or (
            f'href="{asset.url(local=False)}" integrity="{asset.integrity}"' in page
        )


def test_build_script_copies_exactly_the_assets_the_page_loads() -> None:
    script = (REPO / "explorer" / "build.sh").read_text()
    listed = re.search(r"^FILES=\((.*?)^\)", script, re.M | re.S)
    assert listed, "FILES=( ... ) not found in explorer/build.sh"
    assert set(listed.group(1).split()) == {a.relative_path for a in graphiql.ASSETS + dashboard.ASSETS}


def test_missing_assets_warn_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(graphiql, "graphiql_assets_dir", lambda: tmp_path)
    monkeypatch.setattr(graphiql, "_warned_missing", False)
    # A handler on the logger itself: the app's logging set-up may stop propagation to the root.
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warnings.append  # type: ignore[method-assign]
    logging.getLogger("bizgraph.graphiql").addHandler(handler)
    try:
        assert graphiql.graphiql_assets_built() is False
        assert graphiql.graphiql_assets_built() is False
    finally:
        logging.getLogger("bizgraph.graphiql").removeHandler(handler)
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "bash explorer/build.sh" in warnings[0].getMessage()


# --- the page in a browser -------------------------------------------------------------------


# Editors are CodeMirror 5 instances; each wrapper element carries its editor as `.CodeMirror`.
_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror')"
_RESPONSE = "document.querySelector('.graphiql-response .CodeMirror')"
_RUN = "document.querySelector('button.graphiql-execute-button')"


async def _run_in_graphiql(page: Page, query: str) -> str:
    """Type the query into GraphiQL, press its run button, return the result pane's text."""
    await page.wait_for(f"!!({_EDITOR} && {_RUN})")
    await page.evaluate(f"{_RESPONSE}.CodeMirror.setValue(''); {_EDITOR}.CodeMirror.setValue({json.dumps(query)})")
    # GraphiQL parses the editor text in a 100 ms debounced handler that ends by saving it as
    # `graphiql:query`; running before that would send the old operation's name and AST.
    await page.wait_for(f"localStorage.getItem('graphiql:query') === {json.dumps(query)}")
    await page.evaluate(f"{_RUN}.click()")
    return await page.wait_for(f"(() => {{ const v = {_RESPONSE}.CodeMirror.getValue(); return v.trim() && v; }})()")


@pytest.fixture
def chromium_binary() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.skip("no Chromium binary on PATH (Debian: apt-get install chromium; or set $CHROMIUM)")
    return binary


@pytest.mark.timeout(60)
async def test_graphiql_runs_a_query_with_no_other_host_reachable(app, chromium_binary: str, tmp_path: Path) -> None:
    assert graphiql.graphiql_assets_built(), "GraphiQL assets are not built: run `bash explorer/build.sh`"
    token = token_for_user(app, "admin@acme.example")
    async with serve(app) as origin, Chromium(chromium_binary) as browser:
        page = await browser.new_page()
        try:
            # The page itself needs no token: it is where one is pasted.
            await page.navigate(f"{origin}/graphql")
            assert await page.evaluate("document.title") == "bizgraph explorer"

            # The token field: pasted once (people copy the "Bearer " along), kept, and
            # sent as a bearer token on every request from then on.
            await page.evaluate(
                "(() => { const input = document.getElementById('bg-token');"
                f" input.value = {json.dumps('Bearer ' + token)};"
                " input.dispatchEvent(new Event('change')); })()"
            )
            assert await page.evaluate("localStorage.getItem('bizgraph.explorer.token')") == token

            result = json.loads(await _run_in_graphiql(page, QUERY))
            assert "errors" not in result, result
            nodes = [edge["node"] for edge in result["data"]["customers"]["edges"]]
            assert 1 <= len(nodes) <= 5 and all(node["id"] and node["name"] for node in nodes), result
            authorized = [
                r
                for r in page.requests
                if r["method"] == "POST"
                and "customers" in r.get("postData", "")
                and r["headers"].get("Authorization") == f"Bearer {token}"
            ]
            assert authorized, [(r["method"], r["url"], r["headers"]) for r in page.requests]

            # Cleared, the next query is refused with a message GraphiQL shows as it is.
            await page.evaluate("document.getElementById('bg-token-clear').click()")
            refused = json.loads(await _run_in_graphiql(page, "{ __typename }"))
            assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", refused
        except BaseException:
            # Leave evidence for the failure report: what the page looked like and logged.
            with contextlib.suppress(Exception):
                print(f"screenshot: {await page.screenshot(tmp_path / 'graphiql.png')}")
            print("browser console:\n" + "\n".join(page.console))
            raise

    urls = [r["url"] for r in page.requests] + page.websockets
    foreign = [u for u in urls if not u.startswith((origin + "/", "data:", "blob:"))]
    assert not foreign, f"the page reached beyond {origin}: {foreign}"
    assert f"{origin}/graphiql-assets/graphiql/graphiql.min.js" in urls


@pytest.mark.timeout(60)
async def test_the_plan_toggle_fills_a_pane_of_its_own(app, chromium_binary: str, tmp_path: Path) -> None:
    """An analyst turns the plan on: the request carries X-Bizgraph-Plan, and the pane beside
    GraphiQL shows the root field's cost, its SQL and PostgreSQL's plan summary."""
    token = token_for_user(app, "analyst@acme.example")
    async with serve(app) as origin, Chromium(chromium_binary) as browser:
        page = await browser.new_page()
        try:
            await page.navigate(f"{origin}/graphql")
            assert await page.evaluate("document.getElementById('bg-plan-pane').hidden") is True
            await page.evaluate(
                "(() => { const input = document.getElementById('bg-token');"
                f" input.value = {json.dumps(token)}; input.dispatchEvent(new Event('change'));"
                " const plan = document.getElementById('bg-plan'); plan.checked = true;"
                " plan.dispatchEvent(new Event('change')); })()"
            )
            assert await page.evaluate("document.getElementById('bg-plan-pane').hidden") is False
            result = json.loads(await _run_in_graphiql(page, QUERY))
            assert result["extensions"]["plan"]["rootFields"][0]["field"] == "customers", result
            sql = await page.wait_for("document.querySelector('#bg-plan-pane .bg-plan-sql')?.textContent")
            assert sql == result["extensions"]["plan"]["rootFields"][0]["sql"]
            heading = await page.evaluate("document.querySelector('#bg-plan-pane h3').textContent")
            assert heading == f"customers \u2014 cost {result['extensions']['cost']['requested']}"
            summary = await page.evaluate("document.querySelector('#bg-plan-pane .bg-plan-summary').textContent")
            assert "estimated cost" in summary and "rows" in summary, summary
            asked = [r for r in page.requests if r["method"] == "POST" and "customers" in r.get("postData", "")]
            assert asked and all(r["headers"].get("X-Bizgraph-Plan") == "1" for r in asked), asked
            assert await page.evaluate("localStorage.getItem('bizgraph.explorer.plan')") == "1"
        except BaseException:
            with contextlib.suppress(Exception):
                print(f"screenshot: {await page.screenshot(tmp_path / 'graphiql-plan.png')}")
            print("browser console:\n" + "\n".join(page.console))
            raise


SUBSCRIPTION = "subscription { ordersAggregate(groupBy: {dimensions: [STATUS]}) { status count } }"


def _counts(result: dict) -> dict[str, int]:
    return {group["status"]: group["count"] for group in result["data"]["ordersAggregate"]}


@pytest.mark.timeout(90)
async def test_graphiql_runs_a_subscription_and_shows_the_next_result_after_a_mutation(
    writes_app, writes_client, writes_settings, chromium_binary: str, tmp_path: Path
) -> None:
    assert graphiql.graphiql_assets_built(), "GraphiQL assets are not built: run `bash explorer/build.sh`"
    token = token_for_user(writes_settings, "admin@acme.example")
    async with serve(writes_app) as origin, Chromium(chromium_binary) as browser:
        page = await browser.new_page()
        try:
            # Given GraphiQL with a token, running a live query of orders by status
            await page.navigate(f"{origin}/graphql")
            await page.evaluate(
                "(() => { const input = document.getElementById('bg-token');"
                f" input.value = {json.dumps(token)}; input.dispatchEvent(new Event('change')); }})()"
            )
            first = json.loads(await _run_in_graphiql(page, SUBSCRIPTION))
            assert "errors" not in first, first
            before = _counts(first)

            # When an order is placed through the API
            order = await place_an_order(writes_client, writes_settings)

            # Then the result pane moves on by itself to a result with one more order in the placed
            # order's status (after the draft's own result, which counts it as a draft)
            status, expected = order["status"], before.get(order["status"], 0) + 1
            shows_it = (
                f"(() => {{ try {{ const v = {_RESPONSE}.CodeMirror.getValue();"
                f" const group = JSON.parse(v).data.ordersAggregate.find((g) => g.status === {json.dumps(status)});"
                f" return group && group.count === {expected} && v; }} catch (e) {{ return false; }} }})()"
            )
            after = json.loads(await page.wait_for(shows_it, wait_seconds=15))
            assert after != first and "errors" not in after, after
        except BaseException:
            with contextlib.suppress(Exception):
                print(f"screenshot: {await page.screenshot(tmp_path / 'graphiql-subscription.png')}")
            print("browser console:\n" + "\n".join(page.console))
            raise

    # The subscription went over graphql-transport-ws on /graphql, the token in connection_init.
    ws_origin = origin.replace("http", "ws", 1)
    assert page.websockets and set(page.websockets) == {f"{ws_origin}/graphql"}
    inits = [json.loads(frame) for frame in page.frames_sent if '"connection_init"' in frame]
    assert inits and all(init["payload"] == {"Authorization": f"Bearer {token}"} for init in inits), inits
    subscribes = [json.loads(frame) for frame in page.frames_sent if '"subscribe"' in frame]
    assert [s["payload"]["query"] for s in subscribes] == [SUBSCRIPTION]


async def _wait_for_a_socket(page: Page, seconds: float = 15.0) -> list[str]:
    for _ in range(int(seconds / 0.1)):
        if page.websockets:
            return page.websockets
        await asyncio.sleep(0.1)
    raise TimeoutError("the page opened no WebSocket\n" + "\n".join(page.console))


@pytest.mark.timeout(60)
async def test_over_https_graphiql_subscribes_over_wss(app, chromium_binary: str, tmp_path: Path) -> None:
    token = token_for_user(app, "admin@acme.example")
    tls = self_signed_loopback(tmp_path)
    async with (
        serve(app, tls=tls) as origin,
        Chromium(chromium_binary, extra_args=("--ignore-certificate-errors",)) as browser,
    ):
        assert origin.startswith("https://")
        page = await browser.new_page()
        await page.navigate(f"{origin}/graphql")
        await page.evaluate(
            "(() => { const input = document.getElementById('bg-token');"
            f" input.value = {json.dumps(token)}; input.dispatchEvent(new Event('change')); }})()"
        )
        await page.wait_for(f"!!({_EDITOR} && {_RUN})")
        await page.evaluate(f"{_EDITOR}.CodeMirror.setValue({json.dumps(SUBSCRIPTION)})")
        await page.wait_for(f"localStorage.getItem('graphiql:query') === {json.dumps(SUBSCRIPTION)}")
        await page.evaluate(f"{_RUN}.click()")

        sockets = await _wait_for_a_socket(page)

    assert set(sockets) == {origin.replace("https://", "wss://", 1) + "/graphql"}
