"""One log line per GraphQL request, and a slow-query line with the SQL of the slow ones.

Nothing personal goes in: no variables (unless ``BIZGRAPH_LOG_VARIABLES`` is on, for
debugging), never a token, and the SQL is the parameterized text, values sent apart.
"""

from __future__ import annotations

import logging
from typing import Any

from app.http.request_record import RequestRecord

requests_log = logging.getLogger("bizgraph.request")
slow_log = logging.getLogger("bizgraph.slow_query")


def request_fields(record: RequestRecord, *, with_variables: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "request_id": record.request_id,
        "transport": record.transport,
        "subject": record.subject,
        "roles": sorted(record.roles),
        "operation_name": record.operation_name,
        "operation_type": record.operation_type,
        "duration_ms": round(record.elapsed() * 1000, 3),
        "statements": record.statements,
        "round_trips": record.round_trips,
        "cost": record.cost,
        "fast_path": record.fast_path,
        "outcome": record.outcome,
        "status": record.status,
        "error_codes": sorted(set(record.error_codes)),
    }
    if with_variables:
        fields["variables"] = record.variables
    return fields


def log_request(record: RequestRecord, *, slow_ms: int, with_variables: bool) -> None:
    fields = request_fields(record, with_variables=with_variables)
    requests_log.info("graphql request", extra={"fields": fields})
    # A subscription's duration is how long it was open, not how long it took: never "slow".
    if slow_ms and record.operation_type != "subscription" and fields["duration_ms"] >= slow_ms:
        slow_log.warning("slow graphql operation", extra={"fields": {**fields, "sql": record.sql}})
