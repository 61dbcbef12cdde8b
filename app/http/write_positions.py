"""Reading one's own writes with read replicas (README "Read replicas"): the position a client's
write reached travels with the client, not with the server.

An answer to an operation that wrote carries the WAL position its commit reached on the primary,
twice: in the ``Bizgraph-Write-Position`` header, and in a short-lived cookie that browsers send
back by themselves. A client sends it back, as the ``Bizgraph-Read-After`` header or the cookie,
and its queries then read from a replica only once that replica has replayed past it (else from
the primary). Carried by the client, the rule holds whichever process or host serves the next
request; a position the server kept per principal would be known to one process only.
"""

from __future__ import annotations

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.replicas import format_lsn, parse_lsn

RESPONSE_HEADER = "bizgraph-write-position"
REQUEST_HEADER = "bizgraph-read-after"
COOKIE = "bizgraph_write_position"
# Longer than any replica may lag and still be read from (BIZGRAPH_REPLICA_MAX_LAG_MS): past it,
# every replica serving reads has replayed the write anyway.
COOKIE_SECONDS = 300


def read_after(request: Request) -> int | None:
    """The position of the client's latest write, from its header (a malformed one is a bad
    request) or its cookie (a malformed one is ignored: cookies get mangled); the later of both."""
    positions: list[int] = []
    raw = request.headers.get(REQUEST_HEADER)
    if raw is not None:
        position = parse_lsn(raw)
        if position is None:
            raise HTTPException(400, "Bizgraph-Read-After must be a WAL position as sent in Bizgraph-Write-Position")
        positions.append(position)
    cookie = request.cookies.get(COOKIE)
    if cookie is not None and (position := parse_lsn(cookie)) is not None:
        positions.append(position)
    return max(positions, default=None)


def tell(response: Response, request: Request, position: int) -> None:
    """The answer carries the position its operation's writes reached."""
    spelled = format_lsn(position)
    response.headers[RESPONSE_HEADER] = spelled
    response.set_cookie(
        COOKIE,
        spelled,
        max_age=COOKIE_SECONDS,
        path=request.url.path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
