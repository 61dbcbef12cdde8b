"""Where a finished request goes (its metrics, its log line and, when traced, its spans), and
what each transport notes in its record on the way: who asked, which operation was admitted, what
the answer said. HTTP requests (``graphql_view.py``) and operations over a socket (``live/operations.py``) note the
same things, so their series and log lines differ only by ``transport``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.http import GraphQLRequestData

from app.auth.principal import Principal
from app.http.metrics import OperationNames, observe
from app.http.pipeline import Admitted
from app.http.request_log import SlowLines, log_request
from app.http.request_record import RequestRecord
from app.http.request_trace import end_request_span

if TYPE_CHECKING:
    from app.tracing.setup import Headers, Tracing


@dataclass
class RequestObserver:
    slow_query_ms: int = 0
    log_variables: bool = False
    names: OperationNames = field(default_factory=lambda: OperationNames(200))
    # None: traces are off, and no request pays for any part of them.
    tracing: Tracing | None = None
    # Slow-query lines per second are capped (``request_log.SLOW_LINES_PER_SECOND``).
    slow_lines: SlowLines = field(default_factory=SlowLines)

    def start(self, request_id: str, transport: str = "http", headers: Headers = ()) -> RequestRecord:
        # SQL texts are kept only when a slow request could log them.
        record = RequestRecord(request_id, transport=transport, keep_sql=self.slow_query_ms > 0)
        if self.tracing is not None:
            # Begun at arrival, as the caller's child when ``headers`` carry its traceparent.
            record.trace = self.tracing.start_request(headers)
        return record

    def finish(self, record: RequestRecord) -> None:
        observe(record, self.names)
        log_request(record, slow_ms=self.slow_query_ms, with_variables=self.log_variables, slow_lines=self.slow_lines)
        if record.trace is not None:
            end_request_span(record, record.trace)


def note_request(record: RequestRecord, principal: Principal, data: GraphQLRequestData) -> None:
    record.graphql = True
    record.subject = principal.subject
    record.roles = tuple(principal.roles)
    # The client's name until the document says which operation runs.
    record.operation_name = data.operation_name
    record.variables = data.variables


def note_admission(record: RequestRecord, admitted: Admitted | Any) -> None:
    if not isinstance(admitted, Admitted):
        return
    prepared = admitted.prepared
    if prepared is not None:
        record.operation_type = prepared.kind.value
        name = prepared.operation.name
        record.operation_name = name.value if name is not None else None
    elif admitted.planned is not None:
        record.operation_type = "query"
        record.operation_name = admitted.planned.operation_name
    if record.trace is not None:
        record.document = admitted.request.query
    cost = (admitted.extensions or {}).get("cost")
    if isinstance(cost, dict):
        record.cost = cost.get("requested")


def note_response(record: RequestRecord, response: Mapping[str, Any]) -> None:
    """What an answer's body says: whether it had data, and its errors' codes."""
    record.has_data = response.get("data") is not None
    record.error_codes.extend(
        str((error.get("extensions") or {}).get("code", "INTERNAL"))
        for error in response.get("errors") or ()
        if isinstance(error, dict)
    )
