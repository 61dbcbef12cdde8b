"""A GraphQL request's trace, as the GraphQL conventions describe it: the request's span named
``{operation type} {operation name}`` with those as attributes and the document's hash (never
the document, whose inline values may be personal, and never the variables), and the fast
path's planning in a span of its own."""

from __future__ import annotations

from graphql import OperationType
from opentelemetry.util.types import AttributeValue

from app.http.request_record import RequestRecord
from app.tracing import RequestTrace
from app.tracing.spans import PLAN
from resolvers.scope import OperationScope
from schema.fastpath import FastAnswer, FastPath
from schema.limits.parsing import document_hash
from schema.prepared import PreparedOperation


def end_request_span(record: RequestRecord, trace: RequestTrace) -> None:
    kind = record.operation_type
    name = record.operation_name
    attributes: dict[str, AttributeValue] = {
        "bizgraph.request_id": record.request_id,
        "bizgraph.transport": record.transport,
        "bizgraph.outcome": record.outcome,
        "bizgraph.statements": record.statements,
        "http.response.status_code": record.status,
    }
    known = kind != "unknown"
    if known:
        attributes["graphql.operation.type"] = kind
    if name:
        attributes["graphql.operation.name"] = name
    if record.document:
        # SHA-256 of the text: for a stored operation, the id clients name it by.
        attributes["graphql.document.hash"] = document_hash(record.document)
    if record.fast_path is not None:
        attributes["bizgraph.fast_path"] = record.fast_path
    if record.cost is not None:
        attributes["bizgraph.cost"] = record.cost
    codes = sorted(set(record.error_codes))
    if codes:
        attributes["bizgraph.error_codes"] = codes
    # The conventions' name; "GraphQL Operation" when the document never said what it was.
    span_name = (f"{kind} {name}" if name else kind) if known else "GraphQL Operation"
    error = f"{record.outcome}: {', '.join(codes)}" if codes or record.outcome == "failed" else None
    trace.finish(span_name, attributes, error)


async def traced_fast_path(
    fast_path: FastPath,
    prepared: PreparedOperation | None,
    scope: OperationScope,
    trace: RequestTrace,
    verbatim: bool,
) -> FastAnswer | None:
    """``FastPath.execute``, with a query's planning in a span (only queries are planned)."""
    if prepared is None or prepared.kind is not OperationType.QUERY:
        return await fast_path.execute(prepared, scope, verbatim=verbatim)
    with trace.phase(PLAN) as span:
        plan = fast_path.plan(prepared, scope.reads)
        span.set_attribute("bizgraph.fast_path", plan is not None)
    return None if plan is None else await fast_path.run(plan, scope, verbatim=verbatim)
