"""OpenTelemetry traces of GraphQL requests (README "Traces"), off unless ``BIZGRAPH_TRACING`` is on.

``setup.Tracing`` is the process's tracer (sampler, exporter, how a request's trace begins);
``spans.RequestTrace`` is the span tree of one sampled request. Requests that are not sampled
carry no ``RequestTrace`` at all, so every place that could add a span checks one ``is None``.
"""

from app.tracing.spans import RequestTrace, database_attributes

# ``setup`` (the SDK, its exporter) is imported only by a process that turns traces on.
__all__ = ["RequestTrace", "database_attributes"]
