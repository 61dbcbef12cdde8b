"""Requests are counted in a tally and folded into the series at a flush
(app/http/metrics.py ``RequestTally``): what a flush adds to every request series is what
counting each request into prometheus_client one by one would have added."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

from app.http.metrics import COUNT_BUCKETS, DURATION_BUCKETS, OperationNames, RequestTally
from app.http.request_record import RequestRecord
from tests.observability.metrics_text import samples

SERIES = (
    "bizgraph_graphql_requests_total",
    "bizgraph_graphql_request_duration_seconds",
    "bizgraph_graphql_statements_per_request",
    "bizgraph_graphql_round_trips_per_request",
    "bizgraph_graphql_errors_total",
    "bizgraph_graphql_fast_path_total",
    "bizgraph_cost_spent_total",
    "bizgraph_rate_limit_refusals_total",
)

# (what the record says, how long it took): bucket bounds exactly, past the last bound, every outcome.
REQUESTS: list[tuple[dict[str, Any], float]] = [
    ({"operation_name": "Q1", "operation_type": "query", "statements": 1, "round_trips": 1, "fast_path": True}, 0.0004),
    ({"operation_name": "Q1", "operation_type": "query", "statements": 1, "round_trips": 1, "fast_path": True}, 0.005),
    ({"operation_name": "Q1", "operation_type": "query", "statements": 0, "round_trips": 0, "cost": 7}, 0.0050001),
    ({"operation_type": "query", "statements": 55, "round_trips": 56, "fast_path": False, "cost": 3}, 12.0),
    ({"operation_type": "unknown", "status": 400, "error_codes": ["GRAPHQL_VALIDATION_FAILED"]}, 0.001),
    (
        {"operation_name": "Make", "operation_type": "mutation", "statements": 4, "round_trips": 2, "cost": 10},
        0.02,
    ),
    ({"operation_name": "Make", "operation_type": "mutation", "rate_limited": True, "cost": 10, "status": 429}, 0.002),
    (
        {
            "operation_name": "Q1",
            "operation_type": "query",
            "transport": "websocket",
            "error_codes": ["NOT_FOUND", "NOT_FOUND"],
            "has_data": True,
            "statements": 2,
            "round_trips": 1,
        },
        0.0025,
    ),
    ({"operation_name": "Late", "operation_type": "query", "status": 500, "error_codes": ["INTERNAL"]}, 10.0),
]


def _record(fields: dict[str, Any], seconds: float) -> RequestRecord:
    record = RequestRecord("tally", **fields)
    record.elapsed = lambda: seconds  # type: ignore[method-assign]
    return record


def _values(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for sample in samples(generate_latest(registry).decode())
        if sample.name.startswith(SERIES) and not sample.name.endswith("_created")
    }


def _one_by_one(requests: list[RequestRecord]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The series as counting each request straight into prometheus_client writes them."""
    registry = CollectorRegistry()
    counted = Counter("bizgraph_graphql_requests", "", ["operation", "type", "outcome", "transport"], registry=registry)
    duration = Histogram(
        "bizgraph_graphql_request_duration_seconds",
        "",
        ["type", "transport"],
        buckets=DURATION_BUCKETS,
        registry=registry,
    )
    errors = Counter("bizgraph_graphql_errors", "", ["code"], registry=registry)
    statements = Histogram(
        "bizgraph_graphql_statements_per_request", "", ["type"], buckets=COUNT_BUCKETS, registry=registry
    )
    round_trips = Histogram(
        "bizgraph_graphql_round_trips_per_request", "", ["type"], buckets=COUNT_BUCKETS, registry=registry
    )
    fast_path = Counter("bizgraph_graphql_fast_path", "", ["answered"], registry=registry)
    cost = Counter("bizgraph_cost_spent", "", registry=registry)
    refused = Counter("bizgraph_rate_limit_refusals", "", registry=registry)
    names = OperationNames(200)
    for record in requests:
        kind = record.operation_type
        counted.labels(names.label(record), kind, record.outcome, record.transport).inc()
        duration.labels(kind, record.transport).observe(record.elapsed())
        statements.labels(kind).observe(record.statements)
        round_trips.labels(kind).observe(record.round_trips)
        for code in record.error_codes:
            errors.labels(code).inc()
        if record.fast_path is not None:
            fast_path.labels("yes" if record.fast_path else "no").inc()
        if record.cost is not None and not record.rate_limited:
            cost.inc(record.cost)
        if record.rate_limited:
            refused.inc()
    return _values(registry)


def test_a_flush_adds_what_counting_each_request_would() -> None:
    requests = [_record(fields, seconds) for fields, seconds in REQUESTS]
    before = _values(REGISTRY)
    tally = RequestTally()
    names = OperationNames(200)
    for record in requests:
        tally.count(record, names)
    assert _values(REGISTRY) == before  # nothing reaches the series before the flush
    tally.flush()
    after = _values(REGISTRY)
    added = {key: after[key] - before.get(key, 0.0) for key in after if after[key] != before.get(key, 0.0)}
    expected = {key: value for key, value in _one_by_one(requests).items() if value != 0}
    assert added == pytest.approx(expected)
    tally.flush()  # a second flush has nothing left to add
    assert _values(REGISTRY) == after


def test_a_tally_folds_itself_in_before_it_holds_too_many_keys(monkeypatch) -> None:
    monkeypatch.setattr("app.http.metrics.MAX_TALLIED_KEYS", 3)
    tally = RequestTally()
    names = OperationNames(200)
    before = _values(REGISTRY)
    requests = [_record({"operation_name": f"Many{i}", "operation_type": "query"}, 0.001) for i in range(4)]
    for record in requests:
        tally.count(record, names)
    # The fourth key went past the bound: all four are in the series without a flush.
    after = _values(REGISTRY)
    for record in requests:
        key = (
            "bizgraph_graphql_requests_total",
            tuple(
                sorted(
                    {
                        "operation": record.operation_name or "",
                        "type": "query",
                        "outcome": "ok",
                        "transport": "http",
                    }.items()
                )
            ),
        )
        assert after.get(key, 0) - before.get(key, 0) == 1
