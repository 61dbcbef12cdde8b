"""Subscriptions over plain HTTP: an admitted subscription answered as a stream of its feed's
messages, in the format ``Accept`` asked for (``stream_formats``), with heartbeats, ended by the
feed, by the token's expiry or by the server's shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.auth.principal import Principal
from app.errors import BizgraphError, ShuttingDown, TooManySubscriptions, Unauthenticated
from app.http.errors import error_response, response_for, unavailable_response
from app.http.live.limits import LiveLimits, SubscriptionLease
from app.http.live.stream_formats import StreamFormat, format_for
from app.http.live.turns import TurnBudget
from app.http.pipeline import Admitted
from app.http.request_id import request_id_of
from schema.live.feed import LiveFeed

EXPIRED = Unauthenticated("invalid_token", "the access token expired: subscribe again with a fresh one")


class LiveStream:
    """One open stream, as the edge's registry sees it: it can be told the server is going away."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.ended = asyncio.Event()

    async def going_away(self, finish_within: float = 0) -> None:
        # A stream is a subscription: nothing of it is in flight to finish, it just ends.
        self.stop.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.ended.wait()


class HttpStreams:
    def __init__(
        self,
        limits: LiveLimits,
        *,
        heartbeat_seconds: float,
        register: Callable[[LiveStream], None],
        unregister: Callable[[LiveStream], None],
        accepting: Callable[[], bool],
        turns: TurnBudget | None = None,
    ) -> None:
        self.limits = limits
        self.heartbeat_seconds = heartbeat_seconds
        self.register = register
        self.unregister = unregister
        self.accepting = accepting
        self.turns = turns

    async def respond(self, request: Request, principal: Principal, admitted: Admitted) -> Response:
        request_id = request_id_of(request.scope)
        stream_format = format_for(request.headers.get("accept"))
        if stream_format is None:
            raise HTTPException(
                406,
                "a subscription is answered as a stream: send `Accept: text/event-stream` (graphql-sse) or "
                "`Accept: multipart/mixed;subscriptionSpec=1.0` (Apollo), or subscribe over the WebSocket",
            )
        assert admitted.prepared is not None  # a subscription is known to be one once prepared
        # Its end: when the token that opened it stops being accepted (the gate accepted it just now).
        _, valid_until = await request.app.state.auth.authenticator.authenticate_until(
            request.headers.get("authorization")
        )
        if not self.accepting():
            return unavailable_response(ShuttingDown(), request_id)
        if not self.limits.open_connection():
            return error_response(
                503,
                TooManySubscriptions.code,
                "too many open connections: try again later",
                request_id,
                headers={"retry-after": "1"},
            )
        lease: SubscriptionLease | None = None
        try:
            lease = self.limits.subscribe(principal, held_by_connection=0)
            feed: LiveFeed = await request.app.state.live.subscribe(principal, admitted.prepared, request_id)
        except BizgraphError as refusal:
            if lease is not None:
                lease.release()
            self.limits.close_connection()
            status = 429 if isinstance(refusal, TooManySubscriptions) else 400
            response = response_for(refusal, request_id)
            response.status_code = status
            return response
        stream = LiveStream()
        self.register(stream)
        body = self._body(feed, stream_format, stream, valid_until, lease, request_id)
        return StreamingResponse(body, media_type=stream_format.media_type, headers=stream_format.headers)

    async def _body(
        self,
        feed: LiveFeed,
        stream_format: StreamFormat,
        stream: LiveStream,
        valid_until: float,
        lease: SubscriptionLease,
        request_id: str,
    ) -> AsyncIterator[bytes]:
        messages = feed.__aiter__()
        pending: asyncio.Task[Any] | None = None
        stopping = asyncio.create_task(stream.stop.wait(), name="bizgraph-live-stream-stop")
        try:
            yield stream_format.opening()
            while True:
                if pending is None:
                    pending = asyncio.create_task(_next_of(messages), name="bizgraph-live-stream-next")
                left = valid_until - time.time()
                if left <= 0:
                    yield stream_format.error([_error(EXPIRED, request_id)])
                    yield stream_format.complete()
                    return
                done, _ = await asyncio.wait(
                    {pending, stopping}, timeout=min(self.heartbeat_seconds, left), return_when=asyncio.FIRST_COMPLETED
                )
                if pending in done:
                    finished, pending = pending, None
                    try:
                        message = finished.result()
                    except StopAsyncIteration:
                        yield stream_format.complete()
                        return
                    except BizgraphError as ended:
                        yield stream_format.error([_error(ended, request_id)])
                        yield stream_format.complete()
                        return
                    # What else the feed has ready goes out with it: one chunk (one write) for a
                    # burst, and no task and wait per message.
                    batch = [message, *feed.take_ready()]
                    if self.turns is not None:
                        for _ in batch:
                            await self.turns.take()
                    yield b"".join(stream_format.next(payload) for payload in batch)
                elif stopping in done:
                    # The server is going away: the stream ends cleanly; the client subscribes again.
                    yield stream_format.complete()
                    return
                else:
                    yield stream_format.heartbeat()
        finally:
            stopping.cancel()
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await feed.aclose()
            lease.release()
            self.limits.close_connection()
            self.unregister(stream)
            stream.ended.set()


async def _next_of(messages: AsyncIterator[bytes]) -> bytes:
    return await anext(messages)


def _error(refusal: BizgraphError, request_id: str) -> dict[str, object]:
    return {"message": refusal.message, "extensions": {"code": refusal.code, "requestId": request_id}}
