"""The composition root: ``create_app(settings)`` builds the ASGI application."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from app.auth.keys import load_key_ring
from app.config import Settings
from app.db import Database
from app.errors import ConfigError
from app.http.bearer_gate import RequireBearerToken
from app.http.body_limit import LimitRequestBody, oauth_refusal
from app.http.dashboard import dashboard_routes
from app.http.errors import AnswerErrorsAsJson, response_for
from app.http.graphiql import graphiql_routes
from app.http.graphql_view import BizgraphGraphQL, page_limits
from app.http.health import DatabaseReadiness, health_routes
from app.http.invoice_documents import invoice_document_routes
from app.http.lean_queries import LeanPath, LeanQueries
from app.http.live.edge import LiveEdge
from app.http.live.wire import expose_transport
from app.http.metrics import (
    OperationNames,
    ProcessState,
    metrics_routes,
    multiprocess,
    refresh_periodically,
    refresh_webhook_queue,
    time_collector_pauses,
)
from app.http.oauth.routes import MAX_FORM_BYTES, auth_routes
from app.http.oauth.services import AuthServices, auth_endpoints
from app.http.observer import RequestObserver
from app.http.request_id import request_id_of
from app.http.request_record import count_round_trips, count_statements
from app.live.listener import ChangeListener, listener_for
from app.notifications import EmailDispatcher
from app.ratelimit.buckets import Buckets, Clock, MemoryBuckets
from app.ratelimit.redis_buckets import RedisBuckets
from resolvers.organizations import first_organization_id
from schema import build_schema
from schema.cost.calculator import PageSizes
from schema.cost.gate import CostGate
from schema.live.service import LiveData
from schema.plan_templates import PlanTemplates

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from app.tracing.setup import Tracing

# The cyclic collector's thresholds once the app has started (CPython's are 700, 10, 10). A
# process holding 10,000 subscriptions keeps millions of tracked objects: at 700 allocations a
# young collection, whatever a burst of messages has in flight at that moment (futures, queued
# frames, coroutine state) is promoted, the old generation fills with it, and each full collection
# then walks every socket's objects (measured at 10,000 subscribers and 100 writes/s: full
# collections of 2-8 s, a third of the process's time, every message in flight waiting). Young
# collections every 50,000 net allocations let what is in flight die young; full ones still run
# (the old generation grown by a quarter, after ten middle ones), just not for every burst.
COLLECTOR_THRESHOLDS = (50_000, 20, 10)

log = logging.getLogger("bizgraph.server")


def create_app(
    settings: Settings,
    *,
    clock: Clock = time.time,
    send_emails: bool = False,
    span_exporter: SpanExporter | None = None,
) -> Starlette:
    """The application; ``clock`` (wall-clock seconds) drives the rate limit's buckets.
    ``send_emails``: run the email dispatcher in this process (the demo does; in
    production ``bizgraph worker`` runs it on its own). ``span_exporter``: where spans go
    when ``settings.tracing`` is on (None: the OTLP/HTTP collector the settings name)."""
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set")
    # Read now: a missing or bad key stops the start with one line, before serving.
    signing_keys = load_key_ring(settings.signing_keys)
    auth_endpoints(settings)

    schema = build_schema(settings)
    buckets = cost_buckets(settings, clock)
    tracing = _tracing(settings, span_exporter)
    graphql = BizgraphGraphQL(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        fast_path=settings.fast_path,
        # The demo is for exploring: everyone may introspect there.
        introspection_roles=None if settings.demo else settings.introspection_roles,
        cost_gate=CostGate(
            schema._schema, PageSizes(settings.default_page_size, settings.max_page_size), settings.max_cost, buckets
        ),
        persisted_only_roles=settings.persisted_only_roles,
        observer=RequestObserver(
            slow_query_ms=settings.slow_query_ms,
            log_variables=settings.log_variables,
            names=OperationNames(settings.metrics_max_operation_names),
            tracing=tracing,
        ),
    )
    process_state = ProcessState()
    # Sockets and HTTP streams run operations through the view's own pipeline; a socket's
    # operations are counted and logged by the view's observer too.
    live_edge = LiveEdge(settings, graphql.pipeline, graphql.observer)
    graphql.streams = live_edge.streams

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database = Database(settings)
        # Statements count for the request that sends them (metrics, logs, traces).
        count_statements(database.engine, traced=tracing is not None)
        count_round_trips(database)
        auth = AuthServices.build(settings, database, keys=signing_keys)
        changes: ChangeListener | None = None
        live: LiveData | None = None
        stop_emails = asyncio.Event()
        emails: asyncio.Task[None] | None = None
        metrics_refresher: asyncio.Task[None] | None = None
        try:
            # Refuse to serve as a role that row-level security would not hold.
            await database.verify_isolation()
            if await first_organization_id(database) is None:
                raise ConfigError("the database has no organization yet: run `bizgraph seed`")
            # Read replicas, checked once now and then in the background (app/replicas.py).
            await database.start_replicas()
            # Committed changes, heard on one dedicated connection (live data's feed).
            changes = listener_for(settings)
            await changes.start()
            app.state.changes = changes
            app.state.database = database
            app.state.auth = auth
            app.state.page_limits = page_limits(settings)
            app.state.readiness = DatabaseReadiness(database)
            # Subscriptions: live queries and event streams (schema/live).
            app.state.live = live = LiveData(
                schema,
                database,
                app.state.page_limits,
                interval_seconds=settings.live_interval_ms / 1000,
                stream_queue=settings.stream_queue,
                fast_path=settings.fast_path,
            )
            changes.add_sink(live)
            if send_emails:
                emails = asyncio.create_task(EmailDispatcher.from_settings(database, settings).run(stop_emails))
            if multiprocess():
                # Each worker writes its pool, caches and live data for whichever one answers a scrape.
                metrics_refresher = asyncio.create_task(refresh_periodically(refresh_metrics, stop_emails))
            app.state.ready = True
            # Everything built so far lives as long as the process; moving it out
            # of the collector's generations keeps large responses from paying to
            # rescan it (measured: ~4 ms per 300 KB response).
            gc.collect()
            gc.freeze()
            gc.set_threshold(*COLLECTOR_THRESHOLDS)
            time_collector_pauses()
            yield
        finally:
            app.state.ready = False
            # Sockets close with 1001 after their queued frames; streams end.
            await live_edge.drain()
            stop_emails.set()
            if emails is not None:
                await emails
            if metrics_refresher is not None:
                await metrics_refresher
            if changes is not None:
                await changes.stop()
            if live is not None:
                await live.close()
            await auth.aclose()
            if isinstance(buckets, RedisBuckets):
                await buckets.aclose()
            await database.dispose()
            if tracing is not None:
                # The spans still batched go out before the process ends.
                await asyncio.to_thread(tracing.shutdown)

    async def http_error(request: Request, error: Exception) -> Response:
        # An unknown path, a wrong method: the same JSON error shape as everything else.
        return response_for(error, request_id_of(request.scope))

    def refresh_metrics() -> None:
        process_state.refresh(app_state(), graphql.pipeline)

    async def refresh_at_scrape() -> None:
        refresh_metrics()
        database = getattr(app_state(), "database", None)
        if database is not None:
            await refresh_webhook_queue(database)

    graphql_body_limit = Middleware(
        LimitRequestBody, max_bytes=settings.max_request_bytes, setting="BIZGRAPH_MAX_REQUEST_BYTES"
    )
    routes = [
        # The body limit and the gate wrap this route only; ``route.endpoint`` stays the GraphQL view.
        Route(
            "/graphql",
            graphql,
            methods=["GET", "POST"],
            middleware=[graphql_body_limit, Middleware(RequireBearerToken)],
        ),
        # graphql-transport-ws on the same path; the socket authenticates in connection_init.
        WebSocketRoute("/graphql", live_edge.websocket),
        *health_routes(),
        # Only with BIZGRAPH_METRICS_TOKEN set, and only for its bearer.
        *metrics_routes(settings.metrics_token, refresh_at_scrape),
        *invoice_document_routes(),
        *graphiql_routes(),
        # The live sales dashboard is the demo's (app/http/dashboard.py says why).
        *(dashboard_routes() if settings.demo else []),
        *[_form_body_limited(route) for route in auth_routes()],
    ]
    # The lean path's kept plans (app.state.plan_templates, for metrics and tests).
    plans = plan_templates(graphql, settings)
    # One lean path for both of its carriers: the middleware below and the HTTP protocol
    # (app/http/lean_protocol.py), which finds it on the application's state.
    lean_path = LeanPath(
        view=graphql, max_body_bytes=settings.max_request_bytes, enabled=settings.lean_queries, plans=plans
    )
    application = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(AnswerErrorsAsJson),
            # The common request (a JSON POST of a query or a mutation) skips everything below.
            Middleware(LeanQueries, path=lean_path),
            # A socket served by uvicorn writes its frames to uvicorn's transport, in batches
            # (app/http/live/wire.py); this shows it where that transport is (the two above
            # hand a WebSocket's ``send`` on untouched).
            Middleware(expose_transport),
        ],
        exception_handlers={HTTPException: http_error},
    )

    def app_state() -> State:
        return application.state

    # The server (app.cli) drains live connections before it closes them itself.
    application.state.live_edge = live_edge
    application.state.plan_templates = plans
    application.state.lean_path = lean_path
    # Traces, when on: its ``flush`` exports the spans batched so far.
    application.state.tracing = tracing
    return application


def plan_templates(view: BizgraphGraphQL, settings: Settings) -> PlanTemplates | None:
    """The lean path's kept plans (None: none are kept, or there is no fast path to plan for)."""
    fast_path = view.pipeline.fast_path
    if settings.plan_cache_entries == 0 or fast_path is None:
        return None
    return PlanTemplates(fast_path, page_limits(settings), entries=settings.plan_cache_entries)


def _tracing(settings: Settings, exporter: SpanExporter | None) -> Tracing | None:
    if not settings.tracing:
        return None
    # Imported here: a process with traces off never loads the SDK and its exporter.
    from app.tracing.setup import Tracing

    return Tracing(settings, exporter)


def cost_buckets(settings: Settings, clock: Clock) -> Buckets | None:
    """The principals' budgets: none when rate limiting is off, shared through Redis when
    it is configured, else this process's own."""
    rate = settings.rate_limit_cost_per_minute
    if rate == 0:
        return None
    if settings.redis_url is not None:
        return RedisBuckets(settings.redis_url, rate, clock=clock)
    return MemoryBuckets(rate, clock=clock)


def _form_body_limited(route: Route) -> Route:
    """The OAuth routes, with the token endpoint's form refused past its size before it is read."""
    if route.path != "/oauth/token":
        return route
    # RFC 6749 §5.2 answers a malformed token request with 400 ``invalid_request``.
    limit = Middleware(
        LimitRequestBody, max_bytes=MAX_FORM_BYTES, setting="token form size", body=oauth_refusal, status=400
    )
    return Route(route.path, route.endpoint, methods=list(route.methods or ()), name=route.name, middleware=[limit])
