"""The GraphiQL explorer page, served by bizgraph itself.

The page's scripts and styles come from the npm registry at set-up (``bash explorer/build.sh``
copies them into ``app/static/graphiql/``) and are served same-origin under ``/graphiql-assets``,
so opening the explorer makes no request to any other host. When they have not been built, the
page loads the very same files (same versions, pinned by Subresource Integrity) from a CDN.

GraphiQL 4.1 is the newest release that still ships a UMD bundle; GraphiQL 5 is ESM-only and
needs a bundler (Monaco workers) to be served offline. React 18 is the last React with UMD files.

Subscriptions run over ``graphql-transport-ws`` with the ``graphql-ws`` client's browser build
(``GRAPHQL_WS``, shared with the dashboard): one socket per token, which sends the token in its
``connection_init`` payload as ``{"Authorization": "Bearer …"}``, on ``wss:`` when the page came
over https.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.exceptions import HTTPException
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

logger = logging.getLogger("bizgraph.graphiql")

ASSETS_MOUNT = "/graphiql-assets"
CDN = "https://unpkg.com"
TOKEN_STORAGE_KEY = "bizgraph.explorer.token"
PLAN_STORAGE_KEY = "bizgraph.explorer.plan"
DEFAULT_QUERY = """\
# Paste a token above if you have one; run with Ctrl-Enter or the play button.
{
  customers(first: 5) {
    edges {
      node {
        id
        name
      }
    }
  }
}
"""


@dataclass(frozen=True)
class Asset:
    """One file of an npm package, as the page loads it."""

    package: str
    version: str
    file: str  # path inside the package
    integrity: str  # SRI hash of the published file, checked by the browser on the CDN path

    @property
    def relative_path(self) -> str:
        """Where explorer/build.sh puts it under app/static/graphiql/ (node_modules layout)."""
        return f"{self.package}/{self.file}"

    def url(self, *, local: bool) -> str:
        if local:
            return f"{ASSETS_MOUNT}/{self.relative_path}"
        return f"{CDN}/{self.package}@{self.version}/{self.file}"

    @property
    def is_stylesheet(self) -> bool:
        return self.file.endswith(".css")


# The browser build of the graphql-transport-ws client: the global ``graphqlWs``.
GRAPHQL_WS = Asset(
    "graphql-ws",
    "6.4.2",
    "umd/graphql-ws.min.js",
    "sha384-mxvR4Mzbsb6QVx/9xI2gtQikQA6m8zMDBFnu3l//4/ROsWt7y2sUGWd+/tYQqDm7",
)

# Versions must equal explorer/package-lock.json; scripts are listed in load order (GraphiQL's
# UMD bundle reads the React globals, the explorer plugin reads the GraphiQL global).
ASSETS: tuple[Asset, ...] = (
    Asset(
        "react",
        "18.3.1",
        "umd/react.production.min.js",
        "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    ),
    Asset(
        "react-dom",
        "18.3.1",
        "umd/react-dom.production.min.js",
        "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    ),
    Asset(
        "graphiql",
        "4.1.2",
        "graphiql.min.js",
        "sha384-9XdHu7ajgGJziD4J1zNBKQ842Q/+zZfDv+ib1eMhZWBH6hPAs806x+Jbcf0yNO6B",
    ),
    Asset(
        "graphiql",
        "4.1.2",
        "graphiql.min.css",
        "sha384-1el1QShFBnnXTx9x/Cprg82hZWKt0ry29OAYIXt05swbi0KcZDFoj0CWguMpopJr",
    ),
    Asset(
        "@graphiql/plugin-explorer",
        "4.0.6",
        "dist/index.umd.js",
        "sha384-gXYG2RCFRuAiKUaKTbKxOVlvr0U9z0D/V/l5jdvRSH46vQ+9cpkG2d3ByiggUYvD",
    ),
    Asset(
        "@graphiql/plugin-explorer",
        "4.0.6",
        "dist/style.css",
        "sha384-XffIsImDMwexX8UM/Bg3tss0MZOeQmZcnHzk0avUrw9ff0IQ2g9j7QLA6m2lz5D0",
    ),
    GRAPHQL_WS,
)


def graphiql_assets_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "static" / "graphiql"


_warned_missing = False


def graphiql_assets_built(assets: tuple[Asset, ...] = ASSETS) -> bool:
    """True when every one of ``assets`` is on disk. Checked per page load, so a build done while
    the server runs takes effect without a restart."""
    root = graphiql_assets_dir()
    built = all((root / asset.relative_path).is_file() for asset in assets)
    if not built:
        _warn_missing_once()
    return built


def _warn_missing_once() -> None:
    global _warned_missing
    if _warned_missing:
        return
    _warned_missing = True
    logger.warning(
        "GraphiQL assets are not built in %s: the explorer page falls back to loading them from "
        "%s. Run `bash explorer/build.sh` (needs npm) to serve them locally.",
        graphiql_assets_dir(),
        CDN,
    )


class _AssetFiles(StaticFiles):
    """StaticFiles that answers 404, not a 500 RuntimeError, while the directory is missing
    (never built, or mid-swap in explorer/build.sh); the check runs again on the next request."""

    async def check_config(self) -> None:
        if self.directory is not None and not await anyio.Path(self.directory).is_dir():
            raise HTTPException(status_code=404)
        await super().check_config()


def graphiql_routes() -> list[Mount]:
    # check_dir=False: the app must start even before the assets exist; the page then uses the CDN.
    graphiql_assets_built()  # warn at start-up rather than at the first page view
    return [
        Mount(
            ASSETS_MOUNT,
            app=_AssetFiles(directory=graphiql_assets_dir(), check_dir=False),
            name="graphiql-assets",
        )
    ]


def js_literal(value: object) -> str:
    """A JSON literal that is safe inside <script>: no '</script>' or '<!--' can appear."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def asset_tags(assets: tuple[Asset, ...], *, local: bool) -> tuple[str, str]:
    """The page's <link> and <script> tags for ``assets``: served here, or from the CDN."""
    styles, scripts = [], []
    for asset in assets:
        url = html.escape(asset.url(local=local))
        # Same-origin files need no integrity check; CDN copies must be byte-identical to npm's.
        sri = "" if local else f' integrity="{asset.integrity}" crossorigin="anonymous"'
        if asset.is_stylesheet:
            styles.append(f'<link rel="stylesheet" href="{url}"{sri}>')
        else:
            scripts.append(f'<script src="{url}"{sri}></script>')
    return "\n    ".join(styles), "\n    ".join(scripts)


def graphiql_html(*, endpoint: str = "/graphql", assets_available: bool) -> str:
    styles, scripts = asset_tags(ASSETS, local=assets_available)
    config = {
        "endpoint": endpoint,
        "defaultQuery": DEFAULT_QUERY,
        "tokenKey": TOKEN_STORAGE_KEY,
        "planKey": PLAN_STORAGE_KEY,
        "planHeader": "X-Bizgraph-Plan",
        "assetsFrom": ASSETS_MOUNT if assets_available else CDN,
    }
    return (
        _PAGE.replace("{{icon}}", _ICON)
        .replace("{{styles}}", styles)
        .replace("{{scripts}}", scripts)
        .replace("{{config}}", js_literal(config))
    )


# Placeholders are substituted with str.replace so the CSS/JS braces need no escaping.
# A small pink dot as the page's icon.
_ICON = (
    "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
    "<circle cx='8' cy='8' r='7' fill='%23e10098'/></svg>"
)
_PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>bizgraph explorer</title>
    <!-- An inline icon, so the browser does not go looking for /favicon.ico. -->
    <link rel="icon" href="{{icon}}">
    {{styles}}
    <style>
      html, body { height: 100%; margin: 0; }
      body { display: flex; flex-direction: column; font-family: system-ui, sans-serif; }
      #bg-bar { display: flex; align-items: center; gap: 8px; padding: 6px 12px;
                border-bottom: 1px solid #ddd; background: #f7f7f9; font-size: 14px; }
      #bg-bar h1 { font-size: 15px; margin: 0 12px 0 0; }
      #bg-token { flex: 1; max-width: 36em; font-family: ui-monospace, monospace; padding: 3px 6px; }
      #bg-token-state { color: #666; }
      #bg-main { flex: 1; min-height: 0; display: flex; }
      #graphiql { flex: 1; min-width: 0; }
      #graphiql.bg-failed { padding: 12px; color: #b00020; }
      #bg-plan-pane { width: 38%; overflow: auto; border-left: 1px solid #ddd; padding: 8px 12px;
                      font-size: 13px; background: #fcfcfd; }
      #bg-plan-pane[hidden] { display: none; }
      #bg-plan-pane h2 { font-size: 14px; margin: 4px 0 8px; }
      #bg-plan-pane h3 { font-size: 13px; margin: 12px 0 4px; }
      #bg-plan-pane pre { white-space: pre-wrap; word-break: break-word; background: #f3f3f6; padding: 6px;
                          margin: 4px 0; font-size: 12px; }
      #bg-plan-pane .bg-plan-note { color: #666; }
      #bg-plan-pane .bg-plan-error { color: #b00020; }
    </style>
  </head>
  <body>
    <header id="bg-bar">
      <h1>bizgraph explorer</h1>
      <label for="bg-token">Bearer token</label>
      <input id="bg-token" type="password" autocomplete="off" spellcheck="false"
             placeholder="paste an access token; it is sent as Authorization: Bearer &hellip;">
      <button id="bg-token-show" type="button">show</button>
      <button id="bg-token-clear" type="button">clear</button>
      <span id="bg-token-state" aria-live="polite"></span>
      <label title="Ask for the plan of each operation: SQL, cost and PostgreSQL's EXPLAIN (admin and analyst)">
        <input id="bg-plan" type="checkbox"> plan</label>
      <select id="bg-plan-mode" aria-label="plan mode">
        <option value="1">EXPLAIN</option>
        <option value="analyze">EXPLAIN ANALYZE (queries)</option>
      </select>
    </header>
    <div id="bg-main">
      <div id="graphiql">Loading&hellip;</div>
      <aside id="bg-plan-pane" aria-live="polite" hidden>
        <h2>Plan</h2>
        <div id="bg-plan-body" class="bg-plan-note">Run an operation to see its plan.</div>
      </aside>
    </div>
    {{scripts}}
    <script>
      (function () {
        "use strict";
        const config = {{config}};
        if (typeof React === "undefined" || typeof ReactDOM === "undefined" || typeof GraphiQL === "undefined" ||
            typeof graphqlWs === "undefined") {
          // Say so instead of leaving "Loading..." forever (e.g. CDN fallback on an offline network).
          const pane = document.getElementById("graphiql");
          pane.className = "bg-failed";
          pane.textContent = "GraphiQL's scripts did not load from " +
            config.assetsFrom + ". On the server, run `bash explorer/build.sh` to serve them locally.";
          return;
        }
        const tokenInput = document.getElementById("bg-token");
        const tokenState = document.getElementById("bg-token-state");
        const planToggle = document.getElementById("bg-plan");
        const planMode = document.getElementById("bg-plan-mode");
        const planPane = document.getElementById("bg-plan-pane");
        const planBody = document.getElementById("bg-plan-body");

        // The plan toggle: remembered like the token; when on, every HTTP request asks for
        // extensions.plan and the pane beside GraphiQL shows it.
        function planWanted() {
          return planToggle.checked ? planMode.value : "";
        }
        function savePlan() {
          localStorage.setItem(config.planKey, planWanted());
          planPane.hidden = !planToggle.checked;
        }
        function element(tag, text, className) {
          const node = document.createElement(tag);
          if (text !== undefined) node.textContent = text;
          if (className) node.className = className;
          return node;
        }
        function planSummary(explained) {
          // PostgreSQL's JSON: [{"Plan": {...}, "Execution Time": ...}].
          const top = explained && explained[0] && explained[0].Plan;
          if (!top) return "";
          let text = top["Node Type"] + ", estimated cost " + top["Total Cost"] + ", " + top["Plan Rows"] + " rows";
          if (top["Actual Total Time"] !== undefined) {
            text += "; actual " + top["Actual Total Time"] + " ms, " + top["Actual Rows"] + " rows";
          }
          return text;
        }
        // GraphiQL's fetcher answers a value, or (multipart over HTTP, a socket) an async iterable
        // of values: the pane sees each as it passes to GraphiQL, unchanged.
        function tapped(answer) {
          if (answer && typeof answer[Symbol.asyncIterator] === "function") {
            return (async function* () {
              for await (const part of answer) {
                showPlan(part);
                yield part;
              }
            })();
          }
          showPlan(answer);
          return answer;
        }
        function showPlan(result) {
          if (!planToggle.checked) return;
          planBody.textContent = "";
          planBody.className = "";
          const plan = result && result.extensions && result.extensions.plan;
          if (!plan) {
            const refusal = (result && result.errors || []).map(function (e) { return e.message; }).join("; ");
            planBody.appendChild(element("p", refusal ? "No plan: " + refusal
              : "No plan in this answer (a subscription has none).",
              "bg-plan-error"));
            return;
          }
          planBody.appendChild(element("p", plan.mode + " of " + plan.rootFields.length + " root field(s)",
            "bg-plan-note"));
          plan.rootFields.forEach(function (field) {
            const section = element("section");
            section.className = "bg-plan-field";
            const cost = field.cost === undefined ? "" : " \u2014 cost " + field.cost;
            section.appendChild(element("h3", field.field + cost));
            if (field.note) section.appendChild(element("p", field.note, "bg-plan-note"));
            if (field.error) section.appendChild(element("p", field.error, "bg-plan-error"));
            if (field.sql) {
              section.appendChild(element("pre", field.sql, "bg-plan-sql"));
              if (field.explain) {
                section.appendChild(element("p", planSummary(field.explain), "bg-plan-summary"));
                const details = element("details");
                details.appendChild(element("summary", "EXPLAIN (JSON)"));
                details.appendChild(element("pre", JSON.stringify(field.explain, null, 2), "bg-plan-explain"));
                section.appendChild(details);
              }
            }
            planBody.appendChild(section);
          });
        }

        // The token lives in this browser's localStorage only, so it survives reloads.
        function readToken() {
          return (localStorage.getItem(config.tokenKey) || "").trim();
        }
        function saveToken(raw) {
          // People often paste the whole header value; keep just the token.
          const token = raw.trim().replace(/^Bearer\\s+/i, "");
          if (token) localStorage.setItem(config.tokenKey, token);
          else localStorage.removeItem(config.tokenKey);
          tokenInput.value = token;
          tokenState.textContent = token ? "token set" : "no token (anonymous)";
        }

        const httpUrl = new URL(config.endpoint, window.location.href);
        const wsUrl = new URL(httpUrl.href);
        wsUrl.protocol = httpUrl.protocol === "https:" ? "wss:" : "ws:";

        // Subscriptions go over one graphql-transport-ws socket per token, opened on the first
        // subscription; the token travels in connection_init, as the protocol carries it.
        let socket = null;
        function socketFor(token) {
          if (socket) socket.dispose();
          socket = graphqlWs.createClient({
            url: wsUrl.href,
            lazy: true,
            connectionParams: token ? { Authorization: "Bearer " + token } : {},
          });
          return socket;
        }

        // A new fetcher per token: GraphiQL introspects again whenever the fetcher changes, and
        // what a principal may see of the schema depends on its token.
        function fetcherFor(token) {
          const baseFetcher = GraphiQL.createFetcher({ url: httpUrl.href, wsClient: socketFor(token) });
          return function fetcher(params, options) {
            const headers = Object.assign({}, options && options.headers);
            // A header typed into GraphiQL's Headers editor wins over the token field (over HTTP;
            // the socket always speaks for the token field).
            const explicit = Object.keys(headers).some((k) => k.toLowerCase() === "authorization");
            if (token && !explicit) headers.Authorization = "Bearer " + token;
            const plan = planWanted();
            // GraphiQL's own introspection needs no plan.
            const introspecting = params && params.operationName === "IntrospectionQuery";
            if (plan && !introspecting) headers[config.planHeader] = plan;
            const result = baseFetcher(params, Object.assign({}, options, { headers: headers }));
            if (!plan || introspecting) return result;
            return result && typeof result.then === "function" ? result.then(tapped) : tapped(result);
          };
        }

        const root = ReactDOM.createRoot(document.getElementById("graphiql"));
        const plugins = [GraphiQLPluginExplorer.explorerPlugin()];
        function render() {
          root.render(React.createElement(GraphiQL, {
            fetcher: fetcherFor(readToken()),
            defaultQuery: config.defaultQuery,
            plugins: plugins,
            isHeadersEditorEnabled: true,
            shouldPersistHeaders: false,
            inputValueDeprecation: true,
          }));
        }

        tokenInput.addEventListener("change", function () {
          const before = readToken();
          saveToken(tokenInput.value);
          if (readToken() !== before) render();
        });
        document.getElementById("bg-token-show").addEventListener("click", function (event) {
          const hidden = tokenInput.type === "password";
          tokenInput.type = hidden ? "text" : "password";
          event.target.textContent = hidden ? "hide" : "show";
        });
        document.getElementById("bg-token-clear").addEventListener("click", function () {
          const before = readToken();
          saveToken("");
          if (before) render();
        });

        const savedPlan = localStorage.getItem(config.planKey) || "";
        planToggle.checked = savedPlan !== "";
        if (savedPlan) planMode.value = savedPlan;
        planToggle.addEventListener("change", savePlan);
        planMode.addEventListener("change", savePlan);
        savePlan();

        saveToken(readToken());
        render();
      })();
    </script>
  </body>
</html>
"""
