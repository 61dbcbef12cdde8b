"""One log line per GraphQL request, and a slow-query line with the SQL of the slow ones.

Nothing personal goes in: no variables (unless ``BIZGRAPH_LOG_VARIABLES`` is on, for
debugging), never a token, and the SQL is the parameterized text, values sent apart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from app.http.request_record import RequestRecord

requests_log = logging.getLogger("bizgraph.request")
slow_log = logging.getLogger("bizgraph.slow_query")

# Slow-query lines a process writes in one second at most. Under overload every request is slow:
# a line each (its SQL included) would add to the overload and bury the first lines, which say
# what went slow first. The lines left out are counted in the next one written.
SLOW_LINES_PER_SECOND = 20


class SlowLines:
    """How many slow-query lines may still be written this second."""

    def __init__(self, per_second: int = SLOW_LINES_PER_SECOND, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.clock = clock
        self._second = -1
        self._written = 0
        self._left_out = 0

    def admit(self) -> int | None:
        """None: leave this line out (it is counted); else how many were left out before it."""
        second = int(self.clock())
        if second != self._second:
            self._second, self._written = second, 0
        if self._written >= self.per_second:
            self._left_out += 1
            return None
        self._written += 1
        left_out, self._left_out = self._left_out, 0
        return left_out


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


def log_request(
    record: RequestRecord, *, slow_ms: int, with_variables: bool, slow_lines: SlowLines | None = None
) -> None:
    # A subscription's duration is how long it was open, not how long it took: never "slow".
    slow = bool(slow_ms) and record.operation_type != "subscription" and record.elapsed() * 1000 >= slow_ms
    if not slow and not requests_log.isEnabledFor(logging.INFO):
        return  # no line to write: nothing to gather for one
    fields = request_fields(record, with_variables=with_variables)
    requests_log.info("graphql request", extra={"fields": fields})
    if slow:
        left_out = 0 if slow_lines is None else slow_lines.admit()
        if left_out is None:
            return
        slow_fields = {**fields, "sql": record.sql}
        if left_out:
            slow_fields["slow_lines_left_out"] = left_out
        slow_log.warning("slow graphql operation", extra={"fields": slow_fields})
