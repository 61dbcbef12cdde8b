"""The common request, answered without the general HTTP machinery: a JSON ``POST /graphql``
whose operation is a query or a mutation.

Most API traffic is small queries and single-command mutations, for which Starlette's routing
and middleware, strawberry's request flow and their per-request objects cost as much CPU as the
read itself (a tenth of a ``createOrder``'s server CPU, with its operation prepared twice).
``LeanPath`` takes such a request from bytes to bytes with the same parts the general path uses —
the token check, the operation pipeline (admission, the fast path, the standard way), the
request record (metrics, log line) — and nothing else. Two layers carry it: ``LeanQueries``, an
ASGI middleware (outermost but for the error answerer), for any ASGI server; and bizgraph's
HTTP protocol (``app/http/lean_protocol.py``), which ``bizgraph serve`` runs and which answers
these requests without an ASGI cycle at all.

Anything it is not sure of goes to the general path untouched, with the body replayed: another
method, path, content type or ``Accept`` (streams), a stored-document reference, a plan header,
a token that fails, an operation that is neither a valid query nor a valid mutation. It decides that before anything is
paid for or run, so nothing happens twice. Traced processes use the general path throughout, so
a trace has one shape. ``tests/http/test_lean_queries.py`` proves both paths answer with the same
status, headers and bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import orjson
from graphql import OperationType as OperationKind
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http import GraphQLRequestData
from strawberry.types.graphql import OperationType

from app.auth.principal import Principal
from app.errors import BizgraphError
from app.http import request_body
from app.http.errors import response_for
from app.http.graphql_view import BizgraphGraphQL, answer_body, answer_status, code_of_status
from app.http.media_types import GraphQLMediaType, negotiate
from app.http.observer import note_admission, note_request
from app.http.pipeline import Admitted, Answer
from app.http.request_id import request_id_of
from app.http.request_record import RequestRecord, current
from app.http.write_positions import REQUEST_HEADER as READ_AFTER_HEADER
from app.http.write_positions import RESPONSE_HEADER as WRITE_POSITION_HEADER
from app.http.write_positions import read_after, tell
from schema.context import Context
from schema.plan import PLAN_HEADER
from schema.plan_templates import PlannedQuery, PlanTemplates
from schema.prepared import PreparedOperation

PATH = "/graphql"
# What a POST may run, as the general view allows it.
POSTED = frozenset({OperationType.QUERY, OperationType.MUTATION})
TAKEN_KINDS = frozenset({OperationKind.QUERY, OperationKind.MUTATION})
# The keys of a plain operation: anything else (``extensions``, ``documentId``) goes the general way.
PLAIN_KEYS = frozenset({"query", "variables", "operationName"})
# Headers whose requests the general path answers: a chunked body, a plan asked for, a client's
# write position to read after (a malformed one is a request error the general path words).
_GENERAL_PATH_HEADERS = frozenset(
    {b"transfer-encoding", PLAN_HEADER.lower().encode(), READ_AFTER_HEADER.lower().encode()}
)


# Writes an answer: its status, the headers beside the server's own, its body.
Deliver = Callable[[int, list[tuple[bytes, bytes]], bytes], Awaitable[None]]
# Set on a request's scope when the lean path looked at it and declined: whoever carries it on
# to the application (the HTTP protocol, ``app/http/lean_protocol.py``) spares the middleware a
# second look.
DECLINED = "bizgraph.lean_declined"


class LeanPath:
    """What answers the common request, whichever layer carries its bytes: the ASGI middleware
    below (any ASGI server, and the tests' in-process client) or bizgraph's HTTP protocol, which
    answers it without an ASGI cycle at all (``app/http/lean_protocol.py``)."""

    def __init__(
        self,
        *,
        view: BizgraphGraphQL,
        max_body_bytes: int,
        enabled: bool = True,
        plans: PlanTemplates | None = None,
    ) -> None:
        self.view = view
        self.max_body_bytes = max_body_bytes
        # Plans of repeated queries (None: every query is prepared and planned anew).
        self.plans = plans
        # Traced processes use the general path throughout, so a trace has one shape.
        self.enabled = enabled and view.observer.tracing is None

    def eligible(self, scope: Scope) -> LeanHeaders | None:
        """What the headers of a request this path may answer say (None: the general path's)."""
        if not self.enabled:
            return None
        return _eligible_headers(scope, self.max_body_bytes)

    async def take(self, scope: Scope, body: bytes, headers: LeanHeaders) -> _Taken | None:
        """The principal, the request and its prepared query (or its kept plan, bound), or None
        to go the general way. Nothing is paid for or run here."""
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(parsed, dict) or not parsed.keys() <= PLAIN_KEYS:
            return None
        try:
            data = request_body.request_data(parsed, "http")
        except BizgraphError:
            return None
        try:
            principal = await scope["app"].state.auth.authenticator.authenticate(headers.authorization)
        except BizgraphError:
            return None
        if self.plans is not None and data.query is not None:
            # A kept plan's text was found fit to store when it was planned.
            planned = self.plans.lookup(data.query, data.operation_name, data.variables, principal)
            if planned is not None:
                return principal, data, planned
        try:
            request_body.refuse_unstorable_text(data)
        except BizgraphError:
            return None
        prepared = self.view.pipeline.prepare(data)
        if prepared is None or prepared.kind not in TAKEN_KINDS:
            return None
        return principal, data, prepared

    async def answer(self, scope: Scope, headers: LeanHeaders, taken: _Taken, deliver: Deliver) -> None:
        """Runs what ``take`` took and delivers its answer (errors in the JSON contract, never a
        trace), counted and logged as the general view counts and logs it."""
        principal, data, prepared = taken
        request_id = request_id_of(scope)
        observer = self.view.observer
        record = observer.start(request_id, headers=scope["headers"])
        token = current.set(record)
        # A request cut off (the drain's deadline) counts as the general view counts it.
        record.status = 500
        try:
            try:
                status, extra, payload = await self._run(scope, request_id, record, headers, principal, data, prepared)
            except Exception as error:
                # As the general view answers what escapes it: the JSON error contract, never a trace.
                response = response_for(error, request_id)
                record.error_codes.append(code_of_status(response.status_code))
                status, payload = response.status_code, bytes(response.body)
                content_type = response.headers.get("content-type", "application/json").encode()
                # What the error's answer says beside its body (Retry-After for an outage).
                extra = [(name, value) for name, value in response.raw_headers if name not in _BODY_HEADERS]
            else:
                content_type = headers.media_type.content_type.encode()
            response_headers = [
                (b"content-length", str(len(payload)).encode()),
                (b"content-type", content_type),
                *extra,
                (b"x-request-id", request_id.encode("ascii")),
            ]
            await deliver(status, response_headers, payload)
            record.status = status
        finally:
            current.reset(token)
            observer.finish(record)

    async def _run(
        self,
        scope: Scope,
        request_id: str,
        record: RequestRecord,
        headers: LeanHeaders,
        principal: Principal,
        data: GraphQLRequestData,
        prepared: PreparedOperation | PlannedQuery,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        pipeline = self.view.pipeline
        note_request(record, principal, data)
        state = scope["app"].state
        if isinstance(prepared, PlannedQuery):
            admitted = await pipeline.admit_planned(state, principal, data, prepared)
        else:
            admitted = await pipeline.admit(state, principal, data, mutations_allowed=True, prepared=prepared)
            if (
                isinstance(admitted, Admitted)
                and self.plans is not None
                and data.query is not None
                and prepared.kind is OperationKind.QUERY
            ):
                # Planned here, once, for this request and (kept) for the next ones of its shape.
                planned = self.plans.learn(
                    data.query, data.operation_name, data.variables, principal, prepared, admitted.cost
                )
                admitted = replace(admitted, planned=planned)
        note_admission(record, admitted)
        # The body is read already: nothing reads the request's stream after this.
        request = Request(scope)
        if isinstance(admitted, Admitted):
            context = Context(
                principal=principal,
                request=request,
                response=None,
                request_id=request_id,
                # Its header sends a request the general way: only a cookie can carry one here.
                read_after=read_after(request) if headers.cookies else None,
            )
            answer = await pipeline.execute(state, context, admitted, POSTED, verbatim=True)
        else:
            answer = admitted
        return self._encoded(answer, request, request_id, record, headers.media_type)

    def _encoded(
        self, answer: Answer, request: Request, request_id: str, record: RequestRecord, media_type: GraphQLMediaType
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The status, the headers beside the body's own, and the body, as the general view
        answers."""
        if answer.status == 429:
            record.rate_limited = True
        response = answer_body(self.view.pipeline, answer.result, request_id, media_type)
        status = answer_status(answer.status, response)
        extra = [] if answer.retry_after is None else [(b"retry-after", str(answer.retry_after).encode())]
        if answer.written is not None:
            extra += _write_position_headers(request, answer.written)
        return status, extra, orjson.dumps(response)


class LeanQueries:
    """Middleware, inside ``AnswerErrorsAsJson`` only (which answers a request the drain's
    deadline cut off); ``app``: the rest of the application, for everything ``path`` does not
    answer itself."""

    def __init__(self, app: ASGIApp, *, path: LeanPath) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = None if scope.get(DECLINED) else self.path.eligible(scope)
        if headers is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, headers.length)
        if body is None:
            return  # the client went away before its request was whole: nobody to answer
        taken = await self.path.take(scope, body, headers)
        if taken is None:
            await self.app(scope, _replaying(body, receive), send)
            return

        async def deliver(status: int, response_headers: list[tuple[bytes, bytes]], payload: bytes) -> None:
            await send({"type": "http.response.start", "status": status, "headers": response_headers})
            await send({"type": "http.response.body", "body": payload})

        await self.path.answer(scope, headers, taken, deliver)


_BODY_HEADERS = frozenset({b"content-length", b"content-type"})
_WRITE_POSITION_HEADERS = frozenset({WRITE_POSITION_HEADER.encode(), b"set-cookie"})


def _write_position_headers(request: Request, position: int) -> list[tuple[bytes, bytes]]:
    """The position a mutation's writes reached, header and cookie, spelled by the same
    ``tell`` as the general view's (one wording of the cookie's attributes)."""
    carrier = Response()
    tell(carrier, request, position)
    return [(name, value) for name, value in carrier.raw_headers if name in _WRITE_POSITION_HEADERS]


_Taken = tuple[Principal, GraphQLRequestData, PreparedOperation | PlannedQuery]


class LeanHeaders:
    """What the request's headers say, read once."""

    __slots__ = ("authorization", "cookies", "length", "media_type")

    def __init__(self, authorization: str | None, length: int, media_type: GraphQLMediaType, cookies: bool) -> None:
        self.authorization = authorization
        self.length = length
        self.media_type = media_type
        # Whether the request carries cookies (where a browser sends its write position back).
        self.cookies = cookies


def _eligible_headers(scope: Scope, max_body_bytes: int) -> LeanHeaders | None:
    """The headers of a request this path may answer, or None."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
        return None
    content_type = length = accept = authorization = None
    cookies = False
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = value
        elif name == b"accept":
            if accept is not None:
                return None  # several: the general path combines them
            accept = value
        elif name == b"authorization":
            authorization = value
        elif name == b"cookie":
            cookies = True
        elif name in _GENERAL_PATH_HEADERS:
            return None
    if content_type is None or content_type.split(b";")[0].strip().lower() != b"application/json":
        return None
    if length is None or not length.isdigit() or int(length) > max_body_bytes:
        return None
    accepted = None if accept is None else accept.decode("latin-1")
    if accepted is not None and _asks_for_a_stream(accepted):
        return None
    return LeanHeaders(
        None if authorization is None else authorization.decode("latin-1"), int(length), negotiate(accepted), cookies
    )


def _asks_for_a_stream(accept: str) -> bool:
    """Broader than ``stream_formats.format_for`` on purpose: strawberry's view answers any
    ``multipart/*`` on its own terms, so every such request is the general path's."""
    lowered = accept.lower()
    return "text/event-stream" in lowered or "multipart/" in lowered


async def _read_body(receive: Receive, length: int) -> bytes | None:
    """The body, when it is exactly the announced length (None otherwise)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        part = message.get("body", b"")
        size += len(part)
        if size > length:
            return None
        parts.append(part)
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    return body if len(body) == length else None


def _replaying(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """``receive`` as if nothing had been read yet: the body once, then the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
