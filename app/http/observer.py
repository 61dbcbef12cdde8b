"""Where a finished request goes: its metrics, its log line and (when traced) its spans."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.http.metrics import OperationNames, observe
from app.http.request_log import log_request
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

    def start(self, request_id: str, transport: str = "http", headers: Headers = ()) -> RequestRecord:
        # SQL texts are kept only when a slow request could log them.
        record = RequestRecord(request_id, transport=transport, keep_sql=self.slow_query_ms > 0)
        if self.tracing is not None:
            # Begun at arrival, as the caller's child when ``headers`` carry its traceparent.
            record.trace = self.tracing.start_request(headers)
        return record

    def finish(self, record: RequestRecord) -> None:
        observe(record, self.names)
        log_request(record, slow_ms=self.slow_query_ms, with_variables=self.log_variables)
        if record.trace is not None:
            end_request_span(record, record.trace)
