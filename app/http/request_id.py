"""The request id of an HTTP request: the client's, when it is safe to repeat, or a new one.

A request id lands in logs, in error extensions and in the audit log (64
characters at most), so a client's ``X-Request-Id`` is kept only when it is
short and made of ``[A-Za-z0-9._-]``: nothing a log reader or a terminal could
mistake for something else. Otherwise, a W3C ``traceparent`` header that is
well formed lends its trace id (32 hex digits) as the request id, so bizgraph's
logs line up with the caller's trace; failing both, a new random id (128 bits from
the process's generator, as 32 hex digits: a label, not a secret, so not from the
operating system's entropy, whose system call cost more than the rest of choosing).
The trace id is only ever used as a label: nothing is decided by it.

Computed once per request and kept in the ASGI scope's state, so the bearer gate
and the GraphQL view (and anything after them) agree on it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

from starlette.types import Scope

MAX_REQUEST_ID_LENGTH = 64
SAFE_REQUEST_ID = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_REQUEST_ID_LENGTH}}}")
# version "-" trace-id "-" parent-id "-" flags (W3C Trace Context §3.2), lower-case hex only.
TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
INVALID_VERSION = "ff"
STATE_KEY = "request_id"


def request_id_of(scope: Scope) -> str:
    """This request's id, chosen on first use and the same for every later caller."""
    state = scope.setdefault("state", {})
    chosen = state.get(STATE_KEY)
    if not isinstance(chosen, str):
        chosen = choose_request_id(_header(scope, b"x-request-id"), _header(scope, b"traceparent"))
        state[STATE_KEY] = chosen
    return chosen


def choose_request_id(client_id: str | None, traceparent: str | None) -> str:
    if client_id is not None and SAFE_REQUEST_ID.fullmatch(client_id):
        return client_id
    trace_id = trace_id_of(traceparent)
    # ``random``'s own generator is seeded anew in every forked worker: no two share ids.
    return trace_id if trace_id is not None else f"{random.getrandbits(128):032x}"


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a valid ``traceparent`` value, else None."""
    if traceparent is None:
        return None
    match = TRACEPARENT.fullmatch(traceparent.strip())
    if match is None:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == INVALID_VERSION or (version == "00" and rest is not None):
        return None  # version 00 has exactly four fields; ff is never valid
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())  # as ASGI defines them
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None
