"""The transport gate in front of ``/graphql``: no valid bearer token, no GraphQL.

A plain ASGI wrapper rather than Starlette middleware: it runs for one route
only and adds one function call to a request (``BaseHTTPMiddleware`` would add
a task and a stream per request). On success the ``Principal`` is put on
``request.state.principal``; on failure the answer is HTTP 401 with an RFC 6750
challenge and a GraphQL-shaped body, so GraphQL clients show a readable error.

The GraphiQL page itself (a browser's GET without a query) needs no token: the
page is where a person pastes one.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Unauthenticated
from app.http.request_id import request_id_of

REALM = "bizgraph"


class RequireBearerToken:
    """``graphiql_page``: let a browser's GET for the GraphiQL page through without a
    token (``/graphql`` only; other routes guarded by the gate have no page)."""

    def __init__(self, app: ASGIApp, *, graphiql_page: bool = True) -> None:
        self.app = app
        self.graphiql_page = graphiql_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # WebSockets authenticate in connection_init (DESIGN §7), inside the protocol.
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        send = _with_request_id(send, request_id)
        if not (self.graphiql_page and _is_graphiql_page(scope)):
            authenticator = scope["app"].state.auth.authenticator
            try:
                principal = await authenticator.authenticate(_header(scope, b"authorization"))
            except Unauthenticated as refusal:
                await _refuse(refusal, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _with_request_id(send: Send, request_id: str) -> Send:
    """``send``, adding ``X-Request-Id`` to the response so a client can quote it."""
    header = (b"x-request-id", request_id.encode("ascii"))

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), header]}
        await send(message)

    return sending


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Iterable[tuple[bytes, bytes]] = scope["headers"]  # as ASGI defines them
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _is_graphiql_page(scope: Scope) -> bool:
    """The same test strawberry uses to serve the IDE, but only for browsers asking for HTML."""
    if scope["method"] != "GET" or "query" in parse_qs(scope.get("query_string", b"").decode("latin-1")):
        return False
    return "text/html" in (_header(scope, b"accept") or "")


def challenge(refusal: Unauthenticated) -> str:
    """The WWW-Authenticate value of RFC 6750 §3: no error code when no token was sent."""
    parts = [f'Bearer realm="{REALM}"']
    if refusal.error is not None:
        # RFC 6750 allows only printable ASCII without quote and backslash here, and
        # a description may quote a claim value from the token.
        description = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in refusal.description)
        parts += [f'error="{refusal.error}"', f'error_description="{description}"']
    return ", ".join(parts)


async def _refuse(refusal: Unauthenticated, send: Send) -> None:
    body = orjson.dumps({"errors": [{"message": refusal.description, "extensions": {"code": Unauthenticated.code}}]})
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge(refusal).encode("ascii")),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
