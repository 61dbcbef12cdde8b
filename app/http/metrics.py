"""Prometheus metrics: what requests did, and the process's pool, caches and live data.

Request series are counted as each request ends (``observe``, into a tally folded into the series
by ``refresh``). Process state (pool, caches, live groups) is read into the series by ``refresh``
too: at each scrape in a single process, and every second by each worker when
``PROMETHEUS_MULTIPROC_DIR`` is set (prometheus_client's
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
from bisect import bisect_left
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

DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
COUNT_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55)

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
    buckets=DURATION_BUCKETS,
)
ERRORS = Counter("bizgraph_graphql_errors", "Errors in GraphQL answers, by code.", ["code"])
STATEMENTS = Histogram(
    "bizgraph_graphql_statements_per_request",
    "SQL statements one request sent to PostgreSQL, by operation type.",
    ["type"],
    buckets=COUNT_BUCKETS,
)
ROUND_TRIPS = Histogram(
    "bizgraph_graphql_round_trips_per_request",
    "Round trips to PostgreSQL one request made (a pipeline is one), by operation type.",
    ["type"],
    buckets=COUNT_BUCKETS,
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
    """Counts one finished request (in ``TALLY``, until its next ``flush``)."""
    TALLY.count(record, names)


def flush_requests() -> None:
    """What requests counted since the last flush, into the series."""
    TALLY.flush()


_INFINITY = float("inf")


def _bounds(buckets: tuple[float, ...]) -> tuple[float, ...]:
    """A histogram's upper bounds as prometheus_client keeps them (the last is +Inf)."""
    return (*buckets, _INFINITY)


# Distinct keys a tally holds before it folds itself into the series.
MAX_TALLIED_KEYS = 4096


class RequestTally:
    """The per-request series, counted on the request's path in plain dictionaries and folded
    into prometheus_client's series by ``flush``: at every scrape, and every second in each
    worker when workers share the series through files (``refresh_periodically``).

    Counting into prometheus_client directly took a dozen locked increments and three bucket
    searches per request, about 15 µs of CPU: a twentieth of a small query's whole cost in the
    server. Here a request is one dictionary update, keyed by everything its series are
    labelled and bucketed by (bounded: the labels are, and so are the buckets), plus the sums;
    ``flush`` adds each key's count to its series at once."""

    def __init__(self) -> None:
        self._duration_bounds = _bounds(DURATION_BUCKETS)
        self._statement_bounds = self._round_trip_bounds = _bounds(COUNT_BUCKETS)
        # (operation label, type, outcome, transport, fast path, duration bucket, statements
        # bucket, round trips bucket) -> requests
        self._requests: dict[tuple[Any, ...], int] = {}
        # (type, transport) -> [seconds, statements, round trips] summed
        self._sums: dict[tuple[str, str], list[float]] = {}
        self._errors: dict[str, int] = {}
        self._cost = 0
        self._rate_limited = 0

    def count(self, record: RequestRecord, names: OperationNames) -> None:
        kind, transport = record.operation_type, record.transport
        elapsed = record.elapsed()
        statements, round_trips = record.statements, record.round_trips
        key = (
            names.label(record),
            kind,
            record.outcome,
            transport,
            record.fast_path,
            bisect_left(self._duration_bounds, elapsed),
            bisect_left(self._statement_bounds, statements),
            bisect_left(self._round_trip_bounds, round_trips),
        )
        self._requests[key] = self._requests.get(key, 0) + 1
        sums = self._sums.get((kind, transport))
        if sums is None:
            sums = self._sums[(kind, transport)] = [0.0, 0, 0]
        sums[0] += elapsed
        sums[1] += statements
        sums[2] += round_trips
        for code in record.error_codes:
            self._errors[code] = self._errors.get(code, 0) + 1
        if record.rate_limited:
            self._rate_limited += 1
        elif record.cost is not None:
            self._cost += record.cost
        if len(self._requests) > MAX_TALLIED_KEYS:
            # Bounded whether or not anything scrapes (with /metrics off nothing does): the
            # product of the keys' labels and buckets is finite but large.
            self.flush()

    def flush(self) -> None:
        requests, self._requests = self._requests, {}
        sums, self._sums = self._sums, {}
        errors, self._errors = self._errors, {}
        cost, self._cost = self._cost, 0
        rate_limited, self._rate_limited = self._rate_limited, 0
        for (label, kind, outcome, transport, fast_path, duration, statements, round_trips), n in requests.items():
            _child(REQUESTS, label, kind, outcome, transport).inc(n)
            _add_to_bucket(_child(DURATION, kind, transport), duration, n)
            _add_to_bucket(_child(STATEMENTS, kind), statements, n)
            _add_to_bucket(_child(ROUND_TRIPS, kind), round_trips, n)
            if fast_path is not None:
                _child(FAST_PATH, "yes" if fast_path else "no").inc(n)
        for (kind, transport), (seconds, statement_count, round_trip_count) in sums.items():
            _add_to_sum(_child(DURATION, kind, transport), seconds)
            _add_to_sum(_child(STATEMENTS, kind), statement_count)
            _add_to_sum(_child(ROUND_TRIPS, kind), round_trip_count)
        for code, n in errors.items():
            _child(ERRORS, code).inc(n)
        if cost:
            COST.inc(cost)
        if rate_limited:
            RATE_LIMITED.inc(rate_limited)


def _add_to_bucket(child: Any, bucket: int, n: int) -> None:
    """``n`` observations that fall in ``bucket`` (prometheus_client counts each observation in
    the first bucket whose bound holds it, and adds the buckets up when it writes them out).
    Its histograms' own fields, as the pinned prometheus_client has them;
    ``tests/observability/test_request_tally.py`` holds this to what ``observe`` writes."""
    child._buckets[bucket].inc(n)


def _add_to_sum(child: Any, amount: float) -> None:
    child._sum.inc(amount)


TALLY = RequestTally()


class ProcessState:
    """Reads the process's pool, caches and live data into the series (see the module's doc)."""

    def __init__(self) -> None:
        self._seen: dict[Counter, float] = {}
        self._seen_labelled: dict[tuple[str, str], int] = {}

    def refresh(self, state: Any, pipeline: Any) -> None:
        # The requests counted since the last refresh.
        TALLY.flush()
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


async def refresh_periodically(refresh: Any, stop: asyncio.Event, every_seconds: float = 1.0) -> None:
    """Each worker's process state and requests, written to the shared files for whichever worker
    answers a scrape: a scrape sees another worker's requests within ``every_seconds``."""
    while not stop.is_set():
        refresh()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_seconds)
    # What was counted since, before the worker ends.
    refresh()
