"""Where a finished request goes: its metrics and its log line."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.http.metrics import OperationNames, observe
from app.http.request_log import log_request
from app.http.request_record import RequestRecord


@dataclass
class RequestObserver:
    slow_query_ms: int = 0
    log_variables: bool = False
    names: OperationNames = field(default_factory=lambda: OperationNames(200))

    def start(self, request_id: str, transport: str = "http") -> RequestRecord:
        # SQL texts are kept only when a slow request could log them.
        return RequestRecord(request_id, transport=transport, keep_sql=self.slow_query_ms > 0)

    def finish(self, record: RequestRecord) -> None:
        observe(record, self.names)
        log_request(record, slow_ms=self.slow_query_ms, with_variables=self.log_variables)
