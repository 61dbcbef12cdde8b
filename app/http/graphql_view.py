"""The GraphQL endpoint: strawberry's ASGI view with bizgraph's context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson
from cross_web import HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.auth.principal import Principal
from app.errors import Unauthenticated
from app.http import request_body
from app.http.errors import response_for
from app.http.graphiql import graphiql_assets_built, graphiql_html
from app.http.live.http_streams import HttpStreams
from app.http.live.stream_formats import ServerSentEvents, format_for
from app.http.media_types import GraphQLMediaType, negotiate
from app.http.observer import RequestObserver, note_admission, note_request, note_response
from app.http.persisted import names_a_document, with_persisted_reference
from app.http.pipeline import Admitted, OperationPipeline, is_request_error
from app.http.request_id import request_id_of
from app.http.request_record import current
from app.http.write_positions import read_after, tell
from resolvers.planner.pagination import PageLimits
from schema.context import Context
from schema.cost.gate import CostGate
from schema.fastpath import FastPath
from schema.plan import PLAN_HEADER

if TYPE_CHECKING:
    # strawberry's request adapter type, from the library it builds its views on.
    from cross_web import AsyncHTTPRequestAdapter


class _SubResponse(Response):
    """strawberry's per-request stand-in for the response (where a resolver may set a status
    or a header), carrying the media type negotiated for the answer from ``Accept``."""

    def __init__(self, media_type: GraphQLMediaType, *, event_stream: bool = False) -> None:
        super().__init__()
        self.graphql_media_type = media_type
        # ``Accept: text/event-stream`` (graphql-sse): an operation that ran is answered as a
        # stream of one ``next`` event and ``complete``, as that protocol answers queries.
        self.event_stream = event_stream
        self.answer_as_events = False
        # As strawberry makes it: no status of its own and no length, only what is set on it.
        self.status_code = None  # type: ignore[assignment]
        del self.headers["content-length"]


class SubscriptionRequested(Exception):
    """Raised out of strawberry's request flow when the admitted operation is a subscription:
    its answer is a stream, which the view builds instead of a JSON body."""

    def __init__(self, principal: Principal, admitted: Admitted) -> None:
        super().__init__("a subscription")
        self.principal = principal
        self.admitted = admitted


class BizgraphGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Any,
        *,
        fast_path: bool = True,
        introspection_roles: frozenset[str] | None = None,
        cost_gate: CostGate | None = None,
        persisted_only_roles: frozenset[str] = frozenset(),
        streams: HttpStreams | None = None,
        observer: RequestObserver | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        # The one way operations are admitted and run, shared with the WebSocket.
        self.pipeline = OperationPipeline(
            schema,
            fast_path=fast_path,
            introspection_roles=introspection_roles,
            cost_gate=cost_gate,
            persisted_only_roles=persisted_only_roles,
        )
        # None: subscriptions over HTTP are refused (an app without live data).
        self.streams = streams
        # Each GraphQL request's metrics and log line.
        self.observer = observer or RequestObserver()

    @property
    def fast_path(self) -> FastPath | None:
        return self.pipeline.fast_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # WebSockets have their own endpoint (app.http.live): strawberry's must never run.
            await WebSocket(scope, receive, send).close()
            return
        request = Request(scope=scope, receive=receive)
        record = self.observer.start(request_id_of(scope), headers=scope["headers"])
        # Everything the request runs, in this task or one it starts, adds to its record.
        token = current.set(record)
        response: Response | None = None
        try:
            try:
                try:
                    response = await self.run(request)
                except SubscriptionRequested as requested:
                    if self.streams is None:
                        raise HTTPException(400, "subscriptions are not served here") from None
                    response = await self.streams.respond(request, requested.principal, requested.admitted)
            except Exception as error:
                # strawberry answers its own refusals as text/plain and lets the rest
                # escape as a 500; every one gets the JSON error contract instead.
                response = response_for(error, request_id_of(scope))
                record.graphql = True
                record.error_codes.append(code_of_status(response.status_code))
            await response(scope, receive, send)
        finally:
            current.reset(token)
            record.status = response.status_code if response is not None else 500
            # The GraphiQL page is no request for an operation.
            if record.graphql:
                self.observer.finish(record)

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than json for large results; str keeps
        # WebSocket frames textual.
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses what the standard library lets through to fail later:
        # invalid UTF-8, lone surrogates, nesting deeper than 1024 (json recurses
        # until RecursionError). Its error is a JSONDecodeError, a 400 to strawberry.
        return orjson.loads(data)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" in content_type:
            # strawberry would call ``.get`` on whatever the JSON is (``"x"``, ``null``).
            transport = self._get_stream_transport_from_headers(request.headers)
            body = self.parse_json(await request.get_body())
            data = request_body.request_data(body, transport.protocol if transport else "http")
            raw: Mapping[str, object] = body if isinstance(body, dict) else {}
        else:
            parsed = await super().parse_http_body(request)
            if isinstance(parsed, list):  # only JSON bodies are lists, and they are refused above
                raise TypeError("a batch outside a JSON body")
            data = parsed
            raw = request.query_params if request.method == "GET" else {}
        request_body.refuse_unstorable_text(data)
        # A stored document named by its hash (``documentId``, ``extensions.persistedQuery``).
        return with_persisted_reference(data, raw)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult:
        # Batches are refused while parsing; streaming ``Accept`` headers do not lead to
        # strawberry's own streaming, which would run subscriptions past the pipeline.
        if isinstance(request_data, list):
            raise TypeError("a batch past parsing")
        return await self.execute_single(request, request_adapter, sub_response, context, root_value, request_data)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        principal = context.principal
        if principal is None:
            raise Unauthenticated(None, "an access token is required")
        record = current.get()
        if record is not None:
            note_request(record, principal, request_data)
        method = request_adapter.method
        admitted = await self.pipeline.admit(
            request.app.state,
            principal,
            request_data,
            mutations_allowed=method == "POST",
            plan=request.headers.get(PLAN_HEADER),
        )
        if record is not None:
            note_admission(record, admitted)
        if isinstance(admitted, Admitted) and admitted.is_subscription:
            raise SubscriptionRequested(principal, admitted)
        if isinstance(admitted, Admitted):
            allowed = frozenset(OperationType.from_http(method)) - {OperationType.SUBSCRIPTION}
            if admitted.prepared is None:
                # It will not run as sent (a subscription included): the standard way reports why.
                allowed |= {OperationType.SUBSCRIPTION}
            try:
                # The answer is encoded by orjson (``encode_json``): PostgreSQL's JSON may pass as is.
                answer = await self.pipeline.execute(request.app.state, context, admitted, allowed, verbatim=True)
            except CannotGetOperationTypeError as refusal:
                raise HTTPException(400, refusal.as_http_error_reason()) from refusal
            except InvalidOperationTypeError as refusal:
                if refusal.operation_type is OperationType.MUTATION:
                    # GraphQL over HTTP: a mutation over GET is 405, and RFC 9110 wants Allow with it.
                    reason = refusal.as_http_error_reason(method)
                    raise StarletteHTTPException(405, reason, headers={"Allow": "POST"}) from refusal
                raise HTTPException(400, refusal.as_http_error_reason(method)) from refusal
            except MissingQueryError as refusal:
                raise HTTPException(400, "No GraphQL query found in the request") from refusal
        else:
            answer = admitted
        if answer.status == 429 and record is not None:
            record.rate_limited = True
        if answer.status is not None:
            sub_response.status_code = answer.status
        if answer.retry_after is not None:
            sub_response.headers["retry-after"] = str(answer.retry_after)
        if answer.written is not None:
            tell(sub_response, request, answer.written)
        if isinstance(sub_response, _SubResponse) and sub_response.event_stream:
            # A request error stays a JSON answer with its status, as graphql-sse answers one.
            sub_response.answer_as_events = answer.status is None and not is_request_error(answer.result)
        return answer.result

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        request_id = request_id_of(request.scope)
        request.state.request_id = request_id
        # Set by the bearer-token gate in front of this route. The one request it
        # lets through without a token is the GraphiQL page itself, which runs
        # nothing; without a principal no operation scope is ever opened.
        principal: Principal | None = getattr(request.state, "principal", None)
        after = read_after(request) if isinstance(request, Request) else None
        return Context(principal=principal, request=request, response=response, request_id=request_id, read_after=after)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Errors raised before the operation's extensions wrap up (e.g. a syntax
        # error found by the parser cache) still get their code here.
        return answer_body(self.pipeline, result, getattr(request.state, "request_id", "-"), _media_type_of(request))

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        accept = request.headers.get("accept")
        media_type = negotiate(accept)
        request.state.graphql_media_type = media_type
        return _SubResponse(media_type, event_stream=isinstance(format_for(accept), ServerSentEvents))

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = (
            sub_response.graphql_media_type if isinstance(sub_response, _SubResponse) else GraphQLMediaType.JSON
        )
        if isinstance(sub_response, _SubResponse) and sub_response.answer_as_events:
            events = ServerSentEvents()
            body = events.opening() + events.next(orjson.dumps(response_data)) + events.complete()
            streamed = Response(body, media_type=events.media_type, headers=events.headers)
            # What the operation said beside its result (a write position and its cookie).
            streamed.raw_headers.extend(
                (name, value)
                for name, value in sub_response.raw_headers
                if name in (b"set-cookie", b"bizgraph-write-position")
            )
            return streamed
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = media_type.content_type
        if isinstance(response_data, dict):
            response.status_code = answer_status(sub_response.status_code or None, response_data)
        return response

    def should_render_graphql_ide(self, request: AsyncHTTPRequestAdapter) -> bool:  # type: ignore[override]
        # A GET that names a persisted document has no ``query`` either (Apollo sends hashed
        # queries so, accepting */*): it asks for an answer, not for the IDE.
        return super().should_render_graphql_ide(request) and not names_a_document(request.query_params)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_html(endpoint=str(request.url.path), assets_available=graphiql_assets_built()))


# Request errors more precise than 400, when they are the only ones.
_STATUS_OF_REQUEST_ERROR = {
    # Refused for the principal's roles alone.
    "FORBIDDEN": 403,
    "PERSISTED_QUERY_REQUIRED": 403,
    # The named stored document is unknown: the client may send it with its text.
    "PERSISTED_QUERY_NOT_FOUND": 404,
}


def answer_body(
    pipeline: OperationPipeline, result: ExecutionResult, request_id: str, media_type: GraphQLMediaType
) -> GraphQLHTTPResponse:
    """The JSON body of an operation's answer over HTTP, noted in the request's record (the
    general view and the lean path, ``lean_queries.py``, both answer with it)."""
    # Errors raised before the operation's extensions wrap up (e.g. a syntax error found by the
    # parser cache) still get their code here.
    response = pipeline.response_of(result, request_id)
    record = current.get()
    if record is not None:
        note_response(record, response)
    if is_request_error(result) and media_type is GraphQLMediaType.GRAPHQL_RESPONSE_JSON:
        # The operation never ran: under the new media type the answer says so by having no
        # data entry at all (and ``answer_status`` gives it a 4xx).
        del response["data"]
    return response


def answer_status(status: int | None, body: GraphQLHTTPResponse) -> int:
    """The HTTP status of an answer with ``body``: the operation's own (429, 503 …) when it set
    one, which is more precise; else a request error's (only those leave out data); else 200."""
    if status:
        return status
    return request_error_status(body) if "data" not in body else 200


def request_error_status(response_data: GraphQLHTTPResponse) -> int:
    """403 when the request was refused for the principal's roles alone, 404 for an unknown
    persisted document, else 400 (GraphQL over HTTP: a request that is not well-formed or does
    not pass validation)."""
    codes = {
        error.get("extensions", {}).get("code")
        for error in response_data.get("errors") or ()
        if isinstance(error, dict)
    }
    if len(codes) == 1:
        return _STATUS_OF_REQUEST_ERROR.get(codes.pop(), 400)
    return 400


def _media_type_of(request: Request) -> GraphQLMediaType:
    media_type: GraphQLMediaType = getattr(request.state, "graphql_media_type", GraphQLMediaType.JSON)
    return media_type


def page_limits(settings: Any) -> PageLimits:
    return PageLimits(
        default=settings.default_page_size, maximum=settings.max_page_size, max_groups=settings.max_aggregate_groups
    )


def code_of_status(status: int) -> str:
    """An error's code when the request never reached GraphQL (bad JSON, a wrong method...)."""
    return "INTERNAL" if status >= 500 else f"HTTP_{status}"
