"""OpenTelemetry traces through real HTTP round trips (real PostgreSQL, real JWTs): the span tree
of a query on the fast path, of one answered field by field and of a mutation; the caller's
``traceparent`` as the parent; no variable value anywhere in a span; no span with traces off."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from app.tracing.setup import FINAL_FLUSH_SECONDS
from tests.support.auth import bearer, token_for_user
from tests.support.graphql import running_app
from tests.support.serving import serve
from tests.support.websocket_client import answers, init, subscribe
from tests.support.websocket_client import socket as graphql_socket

# Variable values that must never reach a span.
NEEDLE = "needle-trace-5309-private"
CREATED = "Traced Needle 8861 GmbH"

QUERY = "query TracedCustomers($q: String) { customers(first: 2, filter: {name: {neq: $q}}) { totalCount } }"
# ``me`` is not planned, so the whole operation is answered field by field (strawberry).
FIELD_BY_FIELD = (
    "query TracedFieldByField($q: String) { me { subject } customers(first: 1, filter: {name: {neq: $q}})"
    " { nodes { id name } } }"
)
CREATE = """mutation TracedCreate($name: String!) {
  createCustomer(input: {name: $name, kind: COMPANY, segment: SMALL_BUSINESS, country: "DE"}) {
    customer { id name } errors { code }
  }
}"""
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
async def traced(writes_settings, exporter):
    settings = replace(writes_settings, tracing=True, tracing_sample_ratio=1.0)
    async with running_app(settings, span_exporter=exporter) as (app, client):
        yield app, client


@pytest.fixture(scope="module")
def admin(writes_settings) -> dict[str, str]:
    return bearer(token_for_user(writes_settings, "admin@acme.example"))


async def spans_of(app: Any, exporter: InMemorySpanExporter, client: Any, body: dict, headers: dict) -> list:
    """The spans one request produced (the exporter emptied before it, flushed after it)."""
    exporter.clear()
    response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert app.state.tracing.flush()
    return list(exporter.get_finished_spans())


def root_of(spans: list[ReadableSpan]) -> ReadableSpan:
    roots = [span for span in spans if span.kind is SpanKind.SERVER]
    assert len(roots) == 1, [span.name for span in spans]
    return roots[0]


def children_of(root: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    children = [span for span in spans if span is not root]
    for child in children:
        assert child.parent is not None and child.parent.span_id == root.context.span_id, child.name
        assert child.context.trace_id == root.context.trace_id
    return children


def every_value(spans: list[ReadableSpan]) -> Iterator[str]:
    """Every string a span carries: names, attributes, status, events, the resource."""
    for span in spans:
        yield span.name
        yield str(span.status.description)
        for attributes in (span.attributes, span.resource.attributes, *(event.attributes for event in span.events)):
            for value in (attributes or {}).values():
                yield str(value)


def statements(children: list[ReadableSpan]) -> list[ReadableSpan]:
    return [span for span in children if span.kind is SpanKind.CLIENT]


async def test_a_fast_path_query_is_one_span_with_parse_validate_plan_and_its_statement(traced, exporter, admin):
    app, client = traced
    spans = await spans_of(app, exporter, client, {"query": QUERY, "variables": {"q": NEEDLE}}, admin)
    root = root_of(spans)
    assert root.parent is None
    assert root.name == "query TracedCustomers"
    attributes = root.attributes or {}
    assert attributes["graphql.operation.type"] == "query"
    assert attributes["graphql.operation.name"] == "TracedCustomers"
    assert attributes["graphql.document.hash"] == hashlib.sha256(QUERY.encode()).hexdigest()
    assert attributes["bizgraph.fast_path"] is True
    assert attributes["bizgraph.outcome"] == "ok"
    assert root.status.status_code is StatusCode.UNSET
    assert root.resource.attributes["service.name"] == "bizgraph"

    children = children_of(root, spans)
    names = [span.name for span in children if span.kind is SpanKind.INTERNAL]
    assert names == ["graphql.parse", "graphql.validate", "graphql.plan"]
    plan = next(span for span in children if span.name == "graphql.plan")
    assert (plan.attributes or {})["bizgraph.fast_path"] is True
    # One planned root field: one statement, counted and traced at the same place.
    (statement,) = statements(children)
    assert attributes["bizgraph.statements"] == 1
    assert statement.name == "SELECT"
    sql = statement.attributes or {}
    assert sql["db.system.name"] == sql["db.system"] == "postgresql"
    assert sql["db.operation.name"] == "SELECT"
    assert sql["db.namespace"] == app.state.database.url.database
    text = str(sql["db.query.text"])
    assert text.lstrip().upper().startswith("SELECT") and "%(" in text  # placeholders, not values
    assert plan.end_time <= statement.start_time <= statement.end_time <= root.end_time
    assert not [value for value in every_value(spans) if NEEDLE in value]


async def test_a_query_answered_field_by_field_has_its_statements_under_the_request(traced, exporter, admin):
    app, client = traced
    spans = await spans_of(app, exporter, client, {"query": FIELD_BY_FIELD, "variables": {"q": NEEDLE}}, admin)
    root = root_of(spans)
    assert root.name == "query TracedFieldByField"
    assert (root.attributes or {})["bizgraph.fast_path"] is False
    children = children_of(root, spans)
    plan = next(span for span in children if span.name == "graphql.plan")
    assert (plan.attributes or {})["bizgraph.fast_path"] is False
    assert statements(children), "the customers field runs its statement under the request's span"
    assert len(statements(children)) == (root.attributes or {})["bizgraph.statements"]
    assert not [value for value in every_value(spans) if NEEDLE in value]


async def test_a_mutation_is_one_span_with_its_statements_and_no_variable_value(traced, exporter, admin):
    app, client = traced
    body = {"query": CREATE, "variables": {"name": CREATED}}
    spans = await spans_of(app, exporter, client, body, admin)
    root = root_of(spans)
    assert root.name == "mutation TracedCreate"
    attributes = root.attributes or {}
    assert attributes["graphql.operation.type"] == "mutation"
    assert attributes["graphql.operation.name"] == "TracedCreate"
    assert attributes["graphql.document.hash"] == hashlib.sha256(CREATE.encode()).hexdigest()
    children = children_of(root, spans)
    # Nothing is planned for a mutation.
    assert [span.name for span in children if span.kind is SpanKind.INTERNAL] == ["graphql.parse", "graphql.validate"]
    sql = statements(children)
    assert len(sql) == attributes["bizgraph.statements"] > 1
    assert "INSERT" in {span.name for span in sql}
    for span in sql:
        assert span.status.status_code is StatusCode.UNSET
        assert span.start_time <= span.end_time <= root.end_time
    # The name went into the database, and into no span (the response does carry it).
    assert not [value for value in every_value(spans) if CREATED in value]


async def test_the_callers_traceparent_becomes_the_parent(traced, exporter, admin):
    app, client = traced
    headers = {**admin, "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
    spans = await spans_of(app, exporter, client, {"query": QUERY, "variables": {"q": NEEDLE}}, headers)
    root = root_of(spans)
    assert format(root.context.trace_id, "032x") == CALLER_TRACE
    assert root.parent is not None and root.parent.is_remote
    assert format(root.parent.span_id, "016x") == CALLER_SPAN
    assert {span.context.trace_id for span in spans} == {root.context.trace_id}


async def test_a_caller_that_did_not_sample_is_followed(traced, exporter, admin):
    app, client = traced
    headers = {**admin, "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-00"}
    assert await spans_of(app, exporter, client, {"query": QUERY}, headers) == []


async def test_a_refused_document_ends_its_spans_in_error_without_quoting_it(traced, exporter, admin):
    app, client = traced
    exporter.clear()
    query = f'query TracedBroken {{ customers(first: 1, filter: {{name: {{eq: "{NEEDLE}"}}}}) {{ nope }} }}'
    response = await client.post("/graphql", json={"query": query}, headers=admin)
    # 200 under application/json, as GraphQL over HTTP answers a validation error with that media type.
    assert response.status_code == 200 and response.json()["errors"][0]["extensions"]["code"]
    assert app.state.tracing.flush()
    spans = list(exporter.get_finished_spans())
    root = root_of(spans)
    assert root.status.status_code is StatusCode.ERROR
    assert (root.attributes or {})["bizgraph.outcome"] == "refused"
    validate = next(span for span in children_of(root, spans) if span.name == "graphql.validate")
    assert validate.status.status_code is StatusCode.ERROR
    assert not statements(children_of(root, spans))
    # The document's inline value is no variable, but no span quotes the document either.
    assert not [value for value in every_value(spans) if NEEDLE in value]


async def test_sampling_at_zero_traces_only_requests_whose_caller_sampled(writes_settings, admin):
    exporter = InMemorySpanExporter()
    settings = replace(writes_settings, tracing=True, tracing_sample_ratio=0.0)
    async with running_app(settings, span_exporter=exporter) as (app, client):
        spans = await spans_of(app, exporter, client, {"query": QUERY}, admin)
        assert spans == []
        # Baggage, or a malformed traceparent, is no caller's trace: the ratio decides.
        for extra in ({"baggage": "tenant=acme"}, {"traceparent": f"00-{'0' * 32}-{CALLER_SPAN}-01"}):
            assert await spans_of(app, exporter, client, {"query": QUERY}, {**admin, **extra}) == []
        headers = {**admin, "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
        spans = await spans_of(app, exporter, client, {"query": QUERY}, headers)
        assert root_of(spans).name == "query TracedCustomers"


async def test_requests_without_a_caller_are_sampled_at_the_ratio(writes_settings, admin):
    exporter = InMemorySpanExporter()
    settings = replace(writes_settings, tracing=True, tracing_sample_ratio=0.5)
    async with running_app(settings, span_exporter=exporter) as (app, client):
        for _ in range(60):
            response = await client.post("/graphql", json={"query": QUERY}, headers=admin)
            assert response.status_code == 200
        assert app.state.tracing.flush()
    traced = [span for span in exporter.get_finished_spans() if span.kind is SpanKind.SERVER]
    # 30 expected; a binomial(60, 0.5) falls outside 10..50 about once in ten million runs.
    assert 10 <= len(traced) <= 50


async def test_with_traces_off_there_is_no_tracer_and_no_span(writes_settings, admin):
    exporter = InMemorySpanExporter()
    assert writes_settings.tracing is False  # the default
    async with running_app(writes_settings, span_exporter=exporter) as (app, client):
        assert app.state.tracing is None
        headers = {**admin, "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
        for body in ({"query": QUERY, "variables": {"q": NEEDLE}}, {"query": CREATE, "variables": {"name": "Off"}}):
            response = await client.post("/graphql", json=body, headers=headers)
            assert response.status_code == 200 and "errors" not in response.json()
    assert exporter.get_finished_spans() == ()


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that keeps what it is sent."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def test_spans_go_to_the_otlp_collector_the_settings_name(writes_settings, admin):
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{collector.server_port}/v1/traces"
        settings = replace(writes_settings, tracing=True, tracing_endpoint=endpoint)
        # No exporter handed in: the app's own, as ``bizgraph serve`` runs it.
        async with running_app(settings) as (_, client):
            response = await client.post("/graphql", json={"query": QUERY, "variables": {"q": NEEDLE}}, headers=admin)
            assert response.status_code == 200
        # The server's shutdown sent what was still batched.
    finally:
        collector.shutdown()
        collector.server_close()
    names = set()
    for path, content_type, body in _Collector.received:
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        assert NEEDLE.encode() not in body
        export = ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                names.update(span.name for span in scope_spans.spans)
    assert {"query TracedCustomers", "graphql.parse", "graphql.validate", "graphql.plan", "SELECT"} <= names


async def test_a_collector_that_is_down_costs_requests_nothing_and_shutdown_a_bounded_wait(writes_settings, admin):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there any more: every export is refused and retried.
    settings = replace(writes_settings, tracing=True, tracing_endpoint=f"http://127.0.0.1:{port}/v1/traces")
    async with running_app(settings) as (_, client):
        for _ in range(3):
            response = await client.post("/graphql", json={"query": QUERY}, headers=admin)
            assert response.status_code == 200 and "errors" not in response.json()
        leaving = time.monotonic()
    assert time.monotonic() - leaving < FINAL_FLUSH_SECONDS + 3


async def test_a_query_and_a_mutation_over_a_websocket_are_traced_like_over_http(writes_settings):
    exporter = InMemorySpanExporter()
    settings = replace(writes_settings, tracing=True, tracing_sample_ratio=1.0)
    token = token_for_user(writes_settings, "admin@acme.example")
    async with running_app(settings, span_exporter=exporter) as (app, _), serve(app) as origin:
        async with graphql_socket(origin) as ws:
            await init(ws, token)
            await subscribe(ws, "q", QUERY, {"q": NEEDLE})
            assert [message["type"] for message in await answers(ws, "q")] == ["next", "complete"]
            await subscribe(ws, "m", CREATE, {"name": CREATED + " WS"})
            replies = await answers(ws, "m")
            assert replies[0]["payload"]["data"]["createCustomer"]["errors"] == []
        assert app.state.tracing.flush()
    spans = list(exporter.get_finished_spans())
    roots = {span.name: span for span in spans if span.kind is SpanKind.SERVER}
    assert set(roots) == {"query TracedCustomers", "mutation TracedCreate"}
    for root in roots.values():
        assert (root.attributes or {})["bizgraph.transport"] == "websocket"
        children = children_of(root, spans_in(spans, root))
        sql = statements(children)
        assert sql and len(sql) == (root.attributes or {})["bizgraph.statements"]
    query_children = children_of(roots["query TracedCustomers"], spans_in(spans, roots["query TracedCustomers"]))
    assert [span.name for span in query_children if span.kind is SpanKind.INTERNAL] == [
        "graphql.parse",
        "graphql.validate",
        "graphql.plan",
    ]
    assert not [value for value in every_value(spans) if NEEDLE in value or CREATED in value]


def spans_in(spans: list[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    return [span for span in spans if span.context.trace_id == root.context.trace_id]
