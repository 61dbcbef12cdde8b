"""A webhook receiver on a real loopback port: records every request it gets and
answers as the test scripts it (a status per request, or a wait before answering)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.support.serving import serve


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request arrived

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """``answer`` picks the status of each request (the request's index, from 0)."""

    answer: Callable[[int], int] = lambda index: 200
    delay: float = 0.0  # seconds to wait before answering
    hold: asyncio.Event | None = None  # when set: requests wait for it before answering
    body_out: bytes | None = None  # the answer's body (default: "answered <status>")
    extra_headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # sent with every answer
    requests: list[Received] = field(default_factory=list)
    # Requests about one entity to one path that were in flight at the same time: per-entity
    # order means the next is sent only once the previous one was answered.
    overlapping: list[tuple[str, str]] = field(default_factory=list)
    _in_flight: set[tuple[str, str]] = field(default_factory=set)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def answering(self, *statuses: int, then: int = 200) -> None:
        self.answer = lambda index: statuses[index] if index < len(statuses) else then

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
        index = len(self.requests)
        self.requests.append(Received(scope["path"], headers, body, time.monotonic()))
        self.arrived.set()
        subject = (scope["path"], str(orjson.loads(body).get("entityId")))
        if subject in self._in_flight:
            self.overlapping.append(subject)
        self._in_flight.add(subject)
        try:
            if self.hold is not None:
                await self.hold.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self._in_flight.discard(subject)
        status = self.answer(index)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain"), *self.extra_headers],
            }
        )
        body_out = self.body_out if self.body_out is not None else f"answered {status}".encode()
        await send({"type": "http.response.body", "body": body_out})


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver | None = None) -> AsyncIterator[Receiver]:
    receiver = receiver or Receiver()
    async with serve(receiver) as origin:
        receiver.url = f"{origin}/hooks"
        yield receiver
