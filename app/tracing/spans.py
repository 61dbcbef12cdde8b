"""The spans of one sampled GraphQL request: its own (the parent of all others), one per phase
(parse, validate, plan) and one per SQL statement.

Nothing a client sent as data goes into an attribute: statements are bizgraph's parameterised
text (values travel apart, and are never read here), and a failed phase says only the kind of
error, since graphql-core's messages may quote the document.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context
from opentelemetry.util.types import AttributeValue
from sqlalchemy.engine import URL

# Span names of the phases (bizgraph's own: the GraphQL conventions name only the request's span).
PARSE = "graphql.parse"
VALIDATE = "graphql.validate"
PLAN = "graphql.plan"

# A statement's text is kept up to this length: enough to recognise it, bounded per span.
MAX_STATEMENT_CHARS = 4_000


def database_attributes(url: URL) -> dict[str, AttributeValue]:
    """What every statement span says of the database it went to (the database conventions:
    the current names, and ``db.system`` for backends that still read the older one)."""
    attributes: dict[str, AttributeValue] = {"db.system.name": "postgresql", "db.system": "postgresql"}
    if url.database:
        attributes["db.namespace"] = url.database
    if url.host:
        attributes["server.address"] = url.host
    if url.port:
        attributes["server.port"] = url.port
    return attributes


class RequestTrace:
    """One sampled request's spans. Statements are told apart by a key their start and end
    share (the cursor's identity): several may be in flight on different connections."""

    __slots__ = ("_parent", "_statements", "_tracer", "span")

    def __init__(self, tracer: Tracer, span: Span) -> None:
        self._tracer = tracer
        self.span = span
        self._parent: Context = set_span_in_context(span)
        self._statements: dict[int, Span] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[Span]:
        """A child span around a phase; an error ends it with the error's kind, never its message."""
        span = self._tracer.start_span(
            name, context=self._parent, record_exception=False, set_status_on_exception=False
        )
        try:
            yield span
        except BaseException as error:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            span.end()

    @staticmethod
    def refused(span: Span, reason: str, attributes: Mapping[str, AttributeValue]) -> None:
        """Marks a phase's span as failed for ``reason`` (bizgraph's words, never a message that
        could quote the document)."""
        span.set_attributes(attributes)
        span.set_status(Status(StatusCode.ERROR, reason))

    def statement_started(self, key: int, text: str, database: Mapping[str, AttributeValue]) -> None:
        unfinished = self._statements.pop(key, None)
        if unfinished is not None:
            _end_unfinished(unfinished)
        operation = _operation_of(text)
        attributes = {**database, "db.query.text": text[:MAX_STATEMENT_CHARS]}
        if operation:
            attributes["db.operation.name"] = operation
        # Named by its operation (SELECT, INSERT ...), as the database conventions name a span
        # whose target table is not known.
        self._statements[key] = self._tracer.start_span(
            operation or "postgresql", context=self._parent, kind=SpanKind.CLIENT, attributes=attributes
        )

    def statement_finished(self, key: int) -> None:
        span = self._statements.pop(key, None)
        if span is not None:
            span.end()

    def statement_failed(self, key: int, error: BaseException) -> None:
        span = self._statements.pop(key, None)
        if span is not None:
            # The kind only: a driver's message may quote a value the statement was sent with.
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()

    def finish(self, name: str, attributes: Mapping[str, AttributeValue], error: str | None) -> None:
        """Ends the request's span (and any statement whose end was never heard: it was cut off)."""
        for span in self._statements.values():
            _end_unfinished(span)
        self._statements.clear()
        self.span.update_name(name)
        self.span.set_attributes(attributes)
        if error is not None:
            self.span.set_status(Status(StatusCode.ERROR, error))
        self.span.end()


def _operation_of(text: str) -> str:
    words = text.lstrip().split(None, 1)
    return words[0].upper() if words and words[0].isalpha() else ""


def _end_unfinished(span: Span) -> None:
    span.set_status(Status(StatusCode.ERROR, "the statement did not finish"))
    span.end()
