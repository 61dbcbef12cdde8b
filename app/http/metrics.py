"""Prometheus metrics: what requests did, and the process's pool, caches and live data.

Request series are counted as each request ends (``observe``). Process state (pool, caches,
live groups) is read into the series by ``refresh``: at each scrape in a single process, and
every few seconds by each worker when ``PROMETHEUS_MULTIPROC_DIR`` is set (prometheus_client's
multiprocess mode: every worker writes its series to files there, the scrape sums them, so a
scrape answered by any worker sees all of them). Cache lookups are cumulative counts kept by
the caches themselves; ``refresh`` adds what grew since it last looked, so they stay counters
in either mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.db import Database
from app.delivery.queue import webhook_queue
from app.http.request_record import RequestRecord

log = logging.getLogger("bizgraph.metrics")

REQUESTS = Counter(
    "bizgraph_graphql_requests",
    "GraphQL operations by operation name (bounded), operation type, outcome and transport"
    " (http: a request; websocket: a subscribe message on a graphql-transport-ws socket).",
    ["operation", "type", "outcome", "transport"],
)
DURATION = Histogram(
    "bizgraph_graphql_request_duration_seconds",
    "Time from an operation's arrival to its answer (a subscription: to its end), by operation type and transport.",
    ["type", "transport"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ERRORS = Counter("bizgraph_graphql_errors", "Errors in GraphQL answers, by code.", ["code"])
STATEMENTS = Histogram(
    "bizgraph_graphql_statements_per_request",
    "SQL statements one request sent to PostgreSQL, by operation type.",
    ["type"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55),
)
ROUND_TRIPS = Histogram(
    "bizgraph_graphql_round_trips_per_request",
    "Round trips to PostgreSQL one request made (a pipeline is one), by operation type.",
    ["type"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55),
)
FAST_PATH = Counter(
    "bizgraph_graphql_fast_path",
    "Queries that ran, by whether the fast path answered them (yes) or strawberry did (no).",
    ["answered"],
)
COST = Counter("bizgraph_cost_spent", "Static cost units admitted operations paid for.")
RATE_LIMITED = Counter("bizgraph_rate_limit_refusals", "Operations refused because their principal's budget ran out.")
CACHE_LOOKUPS = Counter(
    "bizgraph_cache_lookups",
    "Cache lookups by cache (documents: parse and validation; persisted: stored operations by hash;"
    " plans: the lean path's kept plans) and result.",
    ["cache", "result"],
)
POOL_SIZE = Gauge("bizgraph_db_pool_size", "Connections the pool may hold.", multiprocess_mode="livesum")
POOL_IN_USE = Gauge("bizgraph_db_pool_in_use", "Connections checked out of the pool.", multiprocess_mode="livesum")
POOL_WAITING = Gauge(
    "bizgraph_db_pool_waiting", "Requests queued for a pooled connection.", multiprocess_mode="livesum"
)
POOL_WAIT = Counter("bizgraph_db_pool_wait_seconds", "Time requests spent waiting for a pooled connection.")
POOL_CHECKOUTS = Counter("bizgraph_db_pool_checkouts", "Connections requests took from the pool.")
LIVE_SUBSCRIBERS = Gauge("bizgraph_live_subscribers", "Live-query subscribers.", multiprocess_mode="livesum")
LIVE_GROUPS = Gauge(
    "bizgraph_live_groups", "Live-query groups (subscribers sharing one re-run).", multiprocess_mode="livesum"
)
LIVE_RERUNS = Counter("bizgraph_live_reruns", "Live queries and event streams re-run after changes.")
WEBHOOK_QUEUE = Gauge(
    "bizgraph_webhook_queue_depth",
    "Webhook deliveries not yet delivered or failed (read at scrape).",
    multiprocess_mode="mostrecent",
)
WEBHOOK_OLDEST = Gauge(
    "bizgraph_webhook_oldest_undelivered_age_seconds",
    "Age of the oldest webhook delivery not yet delivered (0: none is waiting; read at scrape).",
    multiprocess_mode="mostrecent",
)
LIVE_LAG = Counter(
    "bizgraph_live_delivery_lag_seconds",
    "Sum over re-runs of the time from a change heard to its answer delivered (divide by reruns for the mean).",
)


COLLECTOR_PAUSES = Histogram(
    "bizgraph_gc_pause_seconds",
    "Pauses of the process for Python's cyclic garbage collector, by generation (2: a full"
    " collection). The event loop runs nothing meanwhile: every request and live message waits.",
    ["generation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
_collection_started: list[float] = []


def _time_collections(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _collection_started[:] = [time.perf_counter()]
    elif _collection_started:
        _child(COLLECTOR_PAUSES, str(info["generation"])).observe(time.perf_counter() - _collection_started.pop())


def time_collector_pauses() -> None:
    """Times every cyclic collection of this process from now on (once per process, however
    many apps it builds)."""
    if _time_collections not in gc.callbacks:
        gc.callbacks.append(_time_collections)


class OperationNames:
    """The label an operation name gets: operation names come from clients, so the first
    ``cap`` distinct names keep their own series and later ones count as "other"; an
    operation without a name is "anonymous", one that never parsed "invalid"."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._known: set[str] = set()

    def label(self, record: RequestRecord) -> str:
        name = record.operation_name
        if name is None:
            return "anonymous" if record.operation_type != "unknown" else "invalid"
        if name in self._known:
            return name
        if len(self._known) < self.cap:
            self._known.add(name)
            return name
        return "other"


# Labelled series once looked up, by their labels: ``labels()`` takes a lock and builds a key
# each time, a third of what counting a request cost. Bounded as the labels are.
_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def observe(record: RequestRecord, names: OperationNames) -> None:
    """Counts one finished request."""
    kind = record.operation_type
    _child(REQUESTS, names.label(record), kind, record.outcome, record.transport).inc()
    _child(DURATION, kind, record.transport).observe(record.elapsed())
    _child(STATEMENTS, kind).observe(record.statements)
    _child(ROUND_TRIPS, kind).observe(record.round_trips)
    for code in record.error_codes:
        _child(ERRORS, code).inc()
    if record.fast_path is not None:
        _child(FAST_PATH, "yes" if record.fast_path else "no").inc()
    if record.cost is not None and not record.rate_limited:
        COST.inc(record.cost)
    if record.rate_limited:
        RATE_LIMITED.inc()


class ProcessState:
    """Reads the process's pool, caches and live data into the series (see the module's doc)."""

    def __init__(self) -> None:
        self._seen: dict[Counter, float] = {}
        self._seen_labelled: dict[tuple[str, str], int] = {}

    def refresh(self, state: Any, pipeline: Any) -> None:
        database = getattr(state, "database", None)
        if database is not None:
            # Requests' read transactions' pool (app/connection_pool.py).
            pool = database.requests.stats
            POOL_SIZE.set(pool.size)
            POOL_IN_USE.set(pool.in_use)
            POOL_WAITING.set(pool.waiting)
            self._grow(POOL_WAIT, pool.wait_seconds)
            self._grow(POOL_CHECKOUTS, pool.checkouts)
        plans = getattr(state, "plan_templates", None)
        for cache, lookups in (
            ("documents", pipeline.persisted.documents.cache.lookups),
            ("persisted", pipeline.persisted.lookups),
            ("plans", plans.lookups if plans is not None else {}),
        ):
            for result, count in lookups.items():
                seen = self._seen_labelled.get((cache, result), 0)
                if count > seen:
                    CACHE_LOOKUPS.labels(cache, result).inc(count - seen)
                    self._seen_labelled[(cache, result)] = count
        live = getattr(state, "live", None)
        if live is not None:
            engine = live.engine
            LIVE_GROUPS.set(engine.group_count)
            LIVE_SUBSCRIBERS.set(engine.subscriber_count)
            self._grow(LIVE_RERUNS, engine.reruns)
            self._grow(LIVE_LAG, engine.delivery_lag_seconds)

    def _grow(self, counter: Counter, total: float) -> None:
        seen = self._seen.get(counter, 0.0)
        if total > seen:
            counter.inc(total - seen)
            self._seen[counter] = total


async def refresh_webhook_queue(database: Database) -> None:
    """The queue's depth and oldest age, read now; a database that does not answer leaves the
    last values (and says so in the log) rather than failing the scrape."""
    try:
        queue = await webhook_queue(database)
    except (DBAPIError, OSError) as error:
        log.warning("the webhook queue could not be read for /metrics: %s", error)
        return
    WEBHOOK_QUEUE.set(queue.depth)
    WEBHOOK_OLDEST.set(queue.oldest_age_seconds)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition() -> bytes:
    """The text format of every series: this process's, or all workers' in multiprocess mode."""
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_routes(token: str | None, refresh: Callable[[], Awaitable[None]]) -> list[Route]:
    """``GET /metrics`` for a bearer of ``token``; none at all without one (an unknown path)."""
    if token is None:
        return []
    expected = f"Bearer {token}".encode()

    async def metrics(request: Request) -> Response:
        sent = request.headers.get("authorization", "").encode()
        # Compared in constant time: the token is the endpoint's only lock.
        if not hmac.compare_digest(sent, expected):
            return JSONResponse(
                {
                    "errors": [
                        {"message": "a valid metrics token is required", "extensions": {"code": "UNAUTHENTICATED"}}
                    ]
                },
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        await refresh()
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics, methods=["GET"])]


async def refresh_periodically(refresh: Any, stop: asyncio.Event, every_seconds: float = 5.0) -> None:
    """Each worker's process state, written to the shared files for whichever worker answers a scrape."""
    while not stop.is_set():
        refresh()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_seconds)
