"""How a subscription's messages are framed over plain HTTP: Apollo's multipart protocol
(``multipart/mixed; subscriptionSpec=1.0``, Apollo Client's ``HttpLink``) and graphql-sse's
distinct-connections mode (``text/event-stream``). Payloads are spliced in as they come."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import orjson
from strawberry.http.parse_content_type import parse_content_type


class StreamFormat:
    media_type: ClassVar[str]
    headers: ClassVar[dict[str, str]]

    def opening(self) -> bytes:
        return b""

    def next(self, payload: bytes) -> bytes:
        raise NotImplementedError

    def error(self, errors: list[object]) -> bytes:
        """The stream ends for a reason of the server's (an overflow, an expired token)."""
        raise NotImplementedError

    def complete(self) -> bytes:
        raise NotImplementedError

    def heartbeat(self) -> bytes:
        raise NotImplementedError


BOUNDARY = "graphql"


class Multipart(StreamFormat):
    """Each part a JSON object: ``{"payload": result}``; ``{}`` is a heartbeat; a transport error
    is ``{"payload": null, "errors": [...]}``, the last part; the closing delimiter ends it."""

    media_type = f'multipart/mixed; boundary="{BOUNDARY}"; subscriptionSpec="1.0"'
    headers: ClassVar[dict[str, str]] = {"cache-control": "no-store"}

    def opening(self) -> bytes:
        # Sent at once with the first heartbeat, so the client sees the stream start.
        return f"--{BOUNDARY}".encode() + self._part(b"{}")

    def next(self, payload: bytes) -> bytes:
        return self._part(b'{"payload":' + payload + b"}")

    def error(self, errors: list[object]) -> bytes:
        return self._part(orjson.dumps({"payload": None, "errors": errors}))

    def complete(self) -> bytes:
        return b"--\r\n"

    def heartbeat(self) -> bytes:
        return self._part(b"{}")

    @staticmethod
    def _part(body: bytes) -> bytes:
        head = f"\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body + f"\r\n--{BOUNDARY}".encode()


class ServerSentEvents(StreamFormat):
    """Events ``next`` (an execution result) and ``complete``; comments keep the line alive.
    A server's reason to end the stream is a last ``next`` with ``errors``, then ``complete``."""

    media_type = "text/event-stream"
    headers: ClassVar[dict[str, str]] = {"cache-control": "no-cache, no-transform", "x-accel-buffering": "no"}

    def opening(self) -> bytes:
        return b":\n\n"

    def next(self, payload: bytes) -> bytes:
        # orjson writes no newline, so the result is one ``data`` line.
        return b"event: next\ndata: " + payload + b"\n\n"

    def error(self, errors: list[object]) -> bytes:
        return self.next(orjson.dumps({"errors": errors}))

    def complete(self) -> bytes:
        return b"event: complete\ndata:\n\n"

    def heartbeat(self) -> bytes:
        return b":\n\n"


@dataclass(frozen=True)
class _Accepted:
    media_type: str
    params: dict[str, str]


def format_for(accept: str | None) -> StreamFormat | None:
    """The stream format ``Accept`` asks for, if any (graphql-sse first: its clients name only it)."""
    ranges = [_Accepted(*parse_content_type(part)) for part in (accept or "").split(",") if part.strip()]
    if any(r.media_type == "text/event-stream" for r in ranges):
        return ServerSentEvents()
    for r in ranges:
        spec = r.params.get("subscriptionspec", "").strip("'\"")
        if r.media_type == "multipart/mixed" and spec.startswith("1.0"):
            return Multipart()
    return None
