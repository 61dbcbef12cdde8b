"""The process's tracer: parent-based sampling at a ratio, spans batched to an OTLP/HTTP collector
(or to the exporter a caller hands in: the tests' in-memory one), and how a request's trace begins
from the caller's W3C ``traceparent``, read by the standard propagator (``OTEL_PROPAGATORS``)."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.propagate import get_global_textmap
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import SpanKind, get_current_span

from app.config import Settings
from app.tracing.spans import RequestTrace

# Request headers as the server hands them over: (name, value) byte pairs, names in lowercase.
Headers = Sequence[tuple[bytes, bytes]]


class _HeaderPairs(Getter[Headers]):
    def get(self, carrier: Headers, key: str) -> list[str] | None:
        name = key.lower().encode("latin-1")
        values = [value.decode("latin-1") for header, value in carrier if header == name]
        return values or None

    def keys(self, carrier: Headers) -> list[str]:
        return [header.decode("latin-1") for header, _ in carrier]


_HEADERS = _HeaderPairs()
# The context of a request without a caller: its span is a root.
_NO_CALLER = Context()
# At shutdown, how long the spans still batched may take to go out: a collector that is down
# must not hold the process's exit for the exporter's whole retry schedule.
FINAL_FLUSH_SECONDS = 3.0


class Tracing:
    def __init__(self, settings: Settings, exporter: SpanExporter | None = None) -> None:
        if exporter is None:
            # Imported only when traces are on: the exporter brings protobuf and an HTTP client.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=settings.tracing_endpoint)
        # A caller that sampled its request has ours sampled too (and one that did not, not). A
        # request without a caller is sampled at the configured ratio, drawn in ``start_request``
        # before any span is made: most requests are not sampled, and making a span only to
        # learn that costs several times the draw.
        self.ratio = settings.tracing_sample_ratio
        self.provider = TracerProvider(
            sampler=ParentBased(root=ALWAYS_ON),
            resource=Resource.create({SERVICE_NAME: settings.tracing_service_name}),
            # Ended by the server's shutdown (``shutdown``), not at interpreter exit.
            shutdown_on_exit=False,
        )
        # Exported from a thread of its own, in batches: a slow collector never holds a request.
        self._exporter = exporter
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("bizgraph")
        self._propagator = get_global_textmap()
        # The headers the propagators read: a request without any of them has no caller's trace.
        self._fields = frozenset(name.lower().encode("latin-1") for name in self._propagator.fields)

    def start_request(self, headers: Headers) -> RequestTrace | None:
        """A request's trace, a child of the caller's when its headers carry one; None when the
        request is not sampled, so nothing else about it is traced."""
        parent = _NO_CALLER
        if any(name in self._fields for name, _ in headers):
            parent = self._propagator.extract(headers, getter=_HEADERS)
            if not get_current_span(parent).get_span_context().is_valid:
                parent = _NO_CALLER  # e.g. baggage alone, or a malformed traceparent
        if parent is _NO_CALLER and not (self.ratio >= 1.0 or random.random() < self.ratio):
            return None
        span = self.tracer.start_span("GraphQL Operation", context=parent, kind=SpanKind.SERVER)
        if not span.is_recording():
            return None
        return RequestTrace(self.tracer, span)

    def flush(self) -> bool:
        """Export every ended span now (True when all went out in time)."""
        return self.provider.force_flush()

    def shutdown(self) -> None:
        """Sends what is still batched (for ``FINAL_FLUSH_SECONDS`` at most) and stops exporting."""
        # The SDK's flush waits for an export in progress whatever its timeout says, and a
        # collector that is down has the exporter retrying for its own timeout (10 s).
        flushing = threading.Thread(target=self.provider.force_flush, name="bizgraph-trace-flush", daemon=True)
        flushing.start()
        flushing.join(FINAL_FLUSH_SECONDS)
        if flushing.is_alive():
            # Stopping the exporter ends its wait between retries; those spans are dropped.
            self._exporter.shutdown()
            flushing.join()
        self.provider.shutdown()
