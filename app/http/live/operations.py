"""One operation a socket's client subscribed to: admitted and run as over HTTP (one pipeline),
answered with graphql-transport-ws messages. A query or a mutation answers ``next`` then
``complete``; a subscription forwards its feed, one ``next`` per message; a request error, a
refusal or a feed ended by the server answers ``error``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.datastructures import State
from starlette.websockets import WebSocket
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.auth.principal import Principal
from app.errors import BadRequest, BizgraphError, DatabaseUnavailable, database_refusal
from app.http import request_body
from app.http.live import close_codes, frames
from app.http.live.close_codes import Close
from app.http.live.frames import ProtocolViolation
from app.http.live.limits import LiveLimits
from app.http.live.pump import FeedPump
from app.http.live.sender import SocketSender
from app.http.observer import RequestObserver, note_admission, note_request, note_response
from app.http.persisted import with_persisted_reference
from app.http.pipeline import QUERIES_AND_MUTATIONS, Admitted, Answer, OperationPipeline, is_request_error
from app.http.request_record import RequestRecord, current
from schema.context import Context

# An operation that will not run as sent is run the standard way only to report why: whatever
# its kind, graphql-core stops it before any field (parse, validation or variables).
ANY_KIND = frozenset(OperationType)


@dataclass
class SocketSession:
    """What a socket's operations share: who it speaks for and where its frames go."""

    websocket: WebSocket
    principal: Principal
    sender: SocketSender
    # Ids of this socket's running subscriptions (its cap counts them).
    subscriptions: set[str] = field(default_factory=set)
    # The WAL position the socket's latest mutation reached: its later queries read from a
    # replica only once it has replayed past it (README "Read replicas"). The socket is the
    # client here, so it carries the position itself.
    written: int | None = None
    # The server is going away: an operation admitted now as a subscription does not start
    # (the socket closes with 1001 once its queries and mutations have answered).
    draining: bool = False

    @property
    def state(self) -> State:
        state: State = self.websocket.app.state
        return state


class SocketOperations:
    def __init__(
        self, pipeline: OperationPipeline, limits: LiveLimits, observer: RequestObserver | None = None
    ) -> None:
        self.pipeline = pipeline
        self.limits = limits
        # Each operation's metrics and log line, as an HTTP request's (transport "websocket").
        self.observer = observer or RequestObserver()

    async def run(self, session: SocketSession, operation_id: str, payload: Mapping[str, Any], request_id: str) -> None:
        try:
            request = with_persisted_reference(request_body.request_data(dict(payload), "http"), payload)
        except BadRequest as malformed:
            raise ProtocolViolation(
                Close(close_codes.BAD_REQUEST, close_codes.bounded_reason(f"Invalid message received: {malformed}"))
            ) from None
        record = self.observer.start(request_id, transport="websocket")
        note_request(record, session.principal, request)
        # Everything the operation runs, in this task or one it starts, adds to its record.
        token = current.set(record)
        try:
            await self._run(session, operation_id, request, request_id, record)
        except asyncio.CancelledError:
            # Completed by the client, or its socket closed: a subscription ends so normally;
            # a query or a mutation did not get to answer.
            record.cancelled = record.operation_type != "subscription"
            raise
        except ProtocolViolation:
            record.error_codes.append("BAD_REQUEST")
            raise
        except Exception:
            record.status = 500
            raise
        finally:
            current.reset(token)
            self.observer.finish(record)

    async def _run(
        self,
        session: SocketSession,
        operation_id: str,
        request: GraphQLRequestData,
        request_id: str,
        record: RequestRecord,
    ) -> None:
        try:
            request_body.refuse_unstorable_text(request)
        except BadRequest as refusal:
            await self._refuse(session, operation_id, refusal, request_id)
            return
        admitted = await self.pipeline.admit(session.state, session.principal, request, mutations_allowed=True)
        note_admission(record, admitted)
        if isinstance(admitted, Answer):
            record.rate_limited = admitted.status == 429
            await self._answer_error(session, operation_id, admitted, request_id)
        elif admitted.is_subscription:
            await self._subscribe(session, operation_id, admitted, request_id)
        else:
            await self._execute(session, operation_id, admitted, request_id)

    async def _execute(self, session: SocketSession, operation_id: str, admitted: Admitted, request_id: str) -> None:
        context = Context(
            principal=session.principal, request=session.websocket, request_id=request_id, read_after=session.written
        )
        allowed = QUERIES_AND_MUTATIONS if admitted.prepared is not None else ANY_KIND
        try:
            answer = await self.pipeline.execute(session.state, context, admitted, allowed)
        except CannotGetOperationTypeError as refusal:
            await self._refuse(session, operation_id, BadRequest(refusal.as_http_error_reason()), request_id)
            return
        except (MissingQueryError, InvalidOperationTypeError):
            await self._refuse(session, operation_id, BadRequest("No GraphQL query found in the message"), request_id)
            return
        except Exception as error:
            known = database_refusal(error) or (error if isinstance(error, BizgraphError) else None)
            if known is None:
                raise
            await self._refuse(session, operation_id, known, request_id)
            return
        if answer.written is not None:
            session.written = max(answer.written, session.written or 0)
        if is_request_error(answer.result):
            await self._answer_error(session, operation_id, answer, request_id)
            return
        response = self.pipeline.response_of(answer.result, request_id)
        record = current.get()
        if record is not None:
            note_response(record, response)
            record.status = answer.status or 200
        body = orjson.dumps(response)
        await session.sender.send(frames.next_frame(operation_id, body))
        await session.sender.send(frames.complete_frame(operation_id))

    async def _subscribe(self, session: SocketSession, operation_id: str, admitted: Admitted, request_id: str) -> None:
        assert admitted.prepared is not None  # a subscription is known to be one once prepared
        if session.draining:
            return
        try:
            lease = self.limits.subscribe(session.principal, held_by_connection=len(session.subscriptions))
        except BizgraphError as refusal:
            await self._refuse(session, operation_id, refusal, request_id)
            return
        session.subscriptions.add(operation_id)
        try:
            try:
                feed = await session.state.live.subscribe(session.principal, admitted.prepared, request_id)
            except BizgraphError as refusal:
                await self._refuse(session, operation_id, refusal, request_id)
                return
            prefix, send = frames.next_prefix(operation_id), session.sender.send
            try:
                # The pump moves the feed's messages until it finished; iteration then hears how
                # it ended (or, for a feed that is only iterable, carries every message).
                await FeedPump(feed, session.sender, prefix).run()
                async for message in feed:
                    await send(prefix + message + frames.NEXT_SUFFIX)
            except BizgraphError as ended:
                await self._refuse(session, operation_id, ended, request_id)
                return
            finally:
                await feed.aclose()
            await session.sender.send(frames.complete_frame(operation_id))
        finally:
            session.subscriptions.discard(operation_id)
            lease.release()

    async def _answer_error(self, session: SocketSession, operation_id: str, answer: Answer, request_id: str) -> None:
        response = self.pipeline.response_of(answer.result, request_id)
        record = current.get()
        if record is not None:
            note_response(record, response)
            # The status the same answer has over HTTP (429, 503), for the outcome.
            record.status = answer.status or 200
        errors = response.get("errors") or []
        await session.sender.send(frames.error_frame(operation_id, list(errors)))

    async def _refuse(self, session: SocketSession, operation_id: str, refusal: BizgraphError, request_id: str) -> None:
        # Classified as any error of a result is: its code, the request id, as over HTTP.
        result = ExecutionResult(data=None, errors=[GraphQLError(refusal.message, original_error=refusal)])
        status = 503 if isinstance(refusal, DatabaseUnavailable) else None
        await self._answer_error(session, operation_id, Answer(result, status=status), request_id)
