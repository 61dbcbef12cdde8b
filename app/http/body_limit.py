"""Refuses request bodies over a size limit before reading them past it.

A plain ASGI wrapper around one route. A ``Content-Length`` over the limit is refused
without reading anything; otherwise the body is read chunk by chunk and refused as soon as
it passes the limit, so a client cannot make the server buffer (or parse) more than the
limit. A body within the limit is handed on to the route as it was received. The refusal
is HTTP 413 (400 for the OAuth token endpoint, whose clients expect RFC 6749's
``invalid_request``) with a JSON body carrying ``REQUEST_TOO_LARGE`` and the request id, and
``Connection: close``, since the rest of the body is never read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import RequestTooLarge
from app.http.request_id import request_id_of

# The refusal's JSON body, from the error and the request id.
RefusalBody = Callable[[RequestTooLarge, str], dict[str, Any]]


def graphql_refusal(refusal: RequestTooLarge, request_id: str) -> dict[str, Any]:
    return {"errors": [{"message": refusal.message, "extensions": {"code": refusal.code, "requestId": request_id}}]}


def oauth_refusal(refusal: RequestTooLarge, request_id: str) -> dict[str, Any]:
    # RFC 6749's error shape, so OAuth clients show the description, plus the code.
    return {
        "error": "invalid_request",
        "error_description": refusal.message,
        "code": refusal.code,
        "requestId": request_id,
    }


class LimitRequestBody:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int, setting: str, body: RefusalBody = graphql_refusal, status: int = 413
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.setting = setting
        self.body = body
        self.status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope["headers"])
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nobody to answer
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        refusal = RequestTooLarge(
            f"The request body is larger than {self.max_bytes} bytes", setting=self.setting, maximum=self.max_bytes
        )
        payload = orjson.dumps(self.body(refusal, request_id_of(scope)))
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, as one message; then the connection's own messages (a disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # malformed: the server refuses it, or the stream is counted
    return None
