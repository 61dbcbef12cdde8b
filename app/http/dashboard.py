"""The demo's live sales dashboard: one small page that shows today's revenue, orders by status,
overdue invoices and a chart of the last two weeks, and keeps them current.

It is a client like any other: it holds no data and no privilege, and everything on it comes
from public subscriptions over ``graphql-transport-ws`` (the ``graphql-ws`` client), run with the
token pasted into it: the explorer's token field and this one share the browser's storage, so a
token pasted into either serves both. The chart is drawn by Chart.js. Both libraries are npm
packages installed at set-up beside GraphiQL's (``explorer/build.sh``) and served from
``/graphiql-assets``; until they are built, the page loads the same files from the CDN, pinned by
Subresource Integrity.

Only ``serve --demo`` serves it: its questions are fixed, made for the demo's data, and outside
the demo bizgraph serves an API (and the explorer, for the people who build on it), not reports.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.http.graphiql import GRAPHQL_WS, TOKEN_STORAGE_KEY, Asset, asset_tags, graphiql_assets_built, js_literal

DASHBOARD_PATH = "/dashboard"
# Days the chart shows, today included.
CHART_DAYS = 14

CHART_JS = Asset(
    "chart.js",
    "4.6.1",
    "dist/chart.umd.min.js",
    "sha384-Emf5ZVIUiarAdhkgtqK+5/Z5qIvM6QoVrS+qAVtfyZVuD5lIHrac0me485+Antp0",
)
ASSETS: tuple[Asset, ...] = (GRAPHQL_WS, CHART_JS)

# The live queries, each the subscription twin of a Query root field with the same arguments.
# Orders count as revenue once placed: drafts are not sales yet and cancelled ones no longer.
SUBSCRIPTIONS = {
    "organization": "subscription Organization { me { organization { name currency timeZone } } }",
    "ordersByDay": """subscription OrdersByDay($since: DateTime!) {
  ordersAggregate(
    filter: {placedAt: {gte: $since}, status: {nin: [DRAFT, CANCELLED]}}
    groupBy: {bucket: DAY}
  ) { bucket count sum { total } }
}""",
    "paymentsByDay": """subscription PaymentsByDay($since: DateTime!) {
  paymentsAggregate(filter: {paidAt: {gte: $since}}, groupBy: {bucket: DAY}) { bucket count sum { amount } }
}""",
    "ordersByStatus": """subscription OrdersByStatus {
  ordersAggregate(groupBy: {dimensions: [STATUS]}) { status count sum { total } }
}""",
    "overdueInvoices": """subscription OverdueInvoices {
  invoicesAggregate(filter: {status: {eq: OVERDUE}}) { count sum { amountDue } }
}""",
}


def dashboard_html(*, endpoint: str = "/graphql", assets_available: bool) -> str:
    styles, scripts = asset_tags(ASSETS, local=assets_available)
    config = {
        "endpoint": endpoint,
        "tokenKey": TOKEN_STORAGE_KEY,
        "chartDays": CHART_DAYS,
        "subscriptions": SUBSCRIPTIONS,
        "assetsFrom": "/graphiql-assets" if assets_available else "the CDN",
    }
    return (
        _PAGE.replace("{{icon}}", _ICON)
        .replace("{{styles}}", styles)
        .replace("{{scripts}}", scripts)
        .replace("{{config}}", js_literal(config))
    )


async def dashboard_page(request: Request) -> HTMLResponse:
    return HTMLResponse(dashboard_html(assets_available=graphiql_assets_built(ASSETS)))


def dashboard_routes() -> list[Route]:
    return [Route(DASHBOARD_PATH, dashboard_page, methods=["GET"], name="dashboard")]


# Three bars as the page's icon, inline so the browser does not go looking for /favicon.ico.
_ICON = (
    "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
    "<rect x='2' y='6' width='3' height='8' fill='%23e10098'/>"
    "<rect x='7' y='3' width='3' height='11' fill='%23e10098'/>"
    "<rect x='12' y='8' width='3' height='6' fill='%23e10098'/></svg>"
)
# Placeholders are substituted with str.replace so the CSS/JS braces need no escaping.
_PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>bizgraph live sales</title>
    <link rel="icon" href="{{icon}}">
    {{styles}}
    <style>
      body { margin: 0; font-family: system-ui, sans-serif; background: #f4f5f7; color: #1d1f24; }
      header { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; padding: 8px 16px;
               background: #fff; border-bottom: 1px solid #ddd; font-size: 14px; }
      header h1 { font-size: 17px; margin: 0 16px 0 0; }
      #token { flex: 1; min-width: 12em; max-width: 32em; font-family: ui-monospace, monospace; padding: 3px 6px; }
      #state { margin-left: auto; color: #666; }
      #state.live { color: #0a7d32; }
      #state.failed { color: #b00020; }
      main { display: grid; grid-template-columns: repeat(auto-fit, minmax(290px, 1fr)); gap: 14px; padding: 16px; }
      section { background: #fff; border: 1px solid #e2e3e8; border-radius: 8px; padding: 14px 16px; }
      section h2 { font-size: 13px; font-weight: 600; color: #666; text-transform: uppercase; margin: 0 0 8px; }
      .figure { font-size: 28px; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
      .note { color: #666; font-size: 13px; margin-top: 4px; }
      .wide { grid-column: 1 / -1; }
      table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
      td { padding: 3px 0 3px 10px; border-bottom: 1px solid #f0f0f3; }
      td:first-child { padding-left: 0; }
      td.n { text-align: right; }
      #chart-box { position: relative; height: 280px; }
      #problem { color: #b00020; padding: 0 16px; }
    </style>
  </head>
  <body>
    <header>
      <h1 id="title">Live sales</h1>
      <label for="token">Bearer token</label>
      <input id="token" type="password" autocomplete="off" spellcheck="false"
             placeholder="paste an access token (the demo prints one)">
      <span id="state" aria-live="polite">not connected</span>
    </header>
    <p id="problem" role="alert"></p>
    <main>
      <section>
        <h2>Revenue today</h2>
        <div class="figure" id="revenue-today">&ndash;</div>
        <div class="note"><span id="orders-today">&ndash;</span> orders placed today</div>
      </section>
      <section>
        <h2>Payments today</h2>
        <div class="figure" id="payments-today">&ndash;</div>
        <div class="note"><span id="payment-count-today">&ndash;</span> payments received</div>
      </section>
      <section>
        <h2>Overdue invoices</h2>
        <div class="figure" id="overdue-count">&ndash;</div>
        <div class="note"><span id="overdue-due">&ndash;</span> still due</div>
      </section>
      <section>
        <h2>Orders by status</h2>
        <table><tbody id="by-status"></tbody></table>
      </section>
      <section class="wide">
        <h2>Revenue and payments by day</h2>
        <div id="chart-box"><canvas id="chart"></canvas></div>
      </section>
    </main>
    {{scripts}}
    <script>
      (function () {
        "use strict";
        const config = {{config}};
        const $ = (id) => document.getElementById(id);
        const problem = (text) => { $("problem").textContent = text || ""; };
        const state = (text, kind) => { $("state").textContent = text; $("state").className = kind || ""; };
        if (typeof graphqlWs === "undefined" || typeof Chart === "undefined") {
          problem("The dashboard's scripts did not load from " + config.assetsFrom +
                  ". On the server, run `bash explorer/build.sh` to serve them locally.");
          return;
        }

        // What the subscriptions last said; every message redraws from here.
        const latest = { organization: null, ordersByDay: [], paymentsByDay: [], ordersByStatus: [], overdue: null };

        // --- numbers and dates ------------------------------------------------------------------
        function money(value) {
          const currency = latest.organization ? latest.organization.currency : "USD";
          return new Intl.NumberFormat(undefined, { style: "currency", currency: currency }).format(Number(value || 0));
        }
        // Today and the chart's days as the organization's calendar has them (its groups are dated so).
        function localDate(instant) {
          const zone = latest.organization ? latest.organization.timeZone : undefined;
          return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
            .format(instant);
        }
        function chartDays() {
          const days = [];
          for (let i = config.chartDays - 1; i >= 0; i--) days.push(localDate(new Date(Date.now() - i * 86400000)));
          return days;
        }
        function byBucket(groups) {
          const found = {};
          for (const group of groups || []) found[group.bucket] = group;
          return found;
        }

        // --- drawing ----------------------------------------------------------------------------
        const chart = new Chart($("chart"), {
          type: "bar",
          data: { labels: [], datasets: [
            { label: "Revenue (orders placed)", data: [], backgroundColor: "#e10098" },
            { label: "Payments received", data: [], backgroundColor: "#5b8def" },
          ] },
          options: { maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true } } },
        });

        function draw() {
          const today = localDate(new Date());
          const orders = byBucket(latest.ordersByDay);
          const payments = byBucket(latest.paymentsByDay);
          const ordersToday = orders[today];
          const paymentsToday = payments[today];
          $("revenue-today").textContent = money(ordersToday ? ordersToday.sum.total : 0);
          $("orders-today").textContent = String(ordersToday ? ordersToday.count : 0);
          $("payments-today").textContent = money(paymentsToday ? paymentsToday.sum.amount : 0);
          $("payment-count-today").textContent = String(paymentsToday ? paymentsToday.count : 0);
          if (latest.overdue) {
            $("overdue-count").textContent = String(latest.overdue.count);
            $("overdue-due").textContent = money(latest.overdue.sum.amountDue);
          }
          const rows = $("by-status");
          // In the order of the lifecycle rather than the server's order of the groups.
          const lifecycle = ["DRAFT", "PLACED", "APPROVED", "FULFILLED", "CANCELLED"];
          const step = (group) => lifecycle.indexOf(group.status);
          const statuses = latest.ordersByStatus.slice().sort((a, b) => step(a) - step(b));
          rows.replaceChildren(...statuses.map((group) => {
            const row = document.createElement("tr");
            row.dataset.status = group.status;
            for (const [text, numeric] of [[group.status.toLowerCase(), false], [String(group.count), true],
                                           [money(group.sum.total), true]]) {
              const cell = document.createElement("td");
              cell.textContent = text;
              if (numeric) cell.className = "n";
              row.appendChild(cell);
            }
            return row;
          }));
          const days = chartDays();
          chart.data.labels = days.map((day) => day.slice(5));
          chart.data.datasets[0].data = days.map((day) => Number(orders[day] ? orders[day].sum.total : 0));
          chart.data.datasets[1].data = days.map((day) => Number(payments[day] ? payments[day].sum.amount : 0));
          chart.update();
        }

        // --- the subscriptions ------------------------------------------------------------------
        const httpUrl = new URL(config.endpoint, window.location.href);
        const wsUrl = new URL(httpUrl.href);
        wsUrl.protocol = httpUrl.protocol === "https:" ? "wss:" : "ws:";
        let client = null;
        let stops = [];

        function watch(name, variables, take) {
          stops.push(client.subscribe({ query: config.subscriptions[name], variables: variables }, {
            next(message) {
              if (message.errors && message.errors.length) {
                problem(name + ": " + message.errors.map((e) => e.message).join("; "));
              }
              if (message.data) { take(message.data); draw(); }
            },
            error(error) {
              const reason = error && error.reason ? error.reason : (error && error.message) || String(error);
              problem(name + ": " + reason);
            },
            complete() {},
          }));
        }

        function connect() {
          stops.forEach((stop) => stop());
          stops = [];
          if (client) client.dispose();
          client = null;
          const token = (localStorage.getItem(config.tokenKey) || "").trim();
          $("token").value = token;
          if (!token) { state("no token", "failed"); problem("Paste a token above to see the live figures."); return; }
          problem("");
          client = graphqlWs.createClient({
            url: wsUrl.href,
            connectionParams: { Authorization: "Bearer " + token },
            // Keep trying while the server restarts; a refused token is final (the protocol's 4401/4403).
            retryAttempts: Infinity,
            shouldRetry: (event) => !(event && (event.code === 4401 || event.code === 4403)),
            on: {
              connecting: () => state("connecting\\u2026"),
              connected: () => state("live", "live"),
              closed: (event) => {
                // 44xx: the server said no (the token, a limit); anything else: it went away for now.
                const refused = event && event.code >= 4400 && event.code < 4500;
                const why = refused && event.reason ? ": " + event.reason : "";
                if (refused) state("refused (" + event.code + why + ")", "failed");
                else state("reconnecting\\u2026");
              },
            },
          });
          // The window starts a day early: the organization's today may begin before the browser's.
          const since = new Date(Date.now() - config.chartDays * 86400000).toISOString();
          watch("organization", {}, (data) => {
            latest.organization = data.me.organization;
            $("title").textContent = "Live sales \\u2013 " + data.me.organization.name;
          });
          watch("ordersByDay", { since: since }, (data) => { latest.ordersByDay = data.ordersAggregate || []; });
          watch("paymentsByDay", { since: since }, (data) => { latest.paymentsByDay = data.paymentsAggregate || []; });
          watch("ordersByStatus", {}, (data) => { latest.ordersByStatus = data.ordersAggregate || []; });
          watch("overdueInvoices", {}, (data) => { latest.overdue = (data.invoicesAggregate || [])[0] || null; });
        }

        $("token").addEventListener("change", function () {
          const token = $("token").value.trim().replace(/^Bearer\\s+/i, "");
          if (token) localStorage.setItem(config.tokenKey, token);
          else localStorage.removeItem(config.tokenKey);
          connect();
        });
        // Redrawn once a minute as well, so that "today" turns over at midnight.
        setInterval(draw, 60000);
        connect();
      })();
    </script>
  </body>
</html>
"""
