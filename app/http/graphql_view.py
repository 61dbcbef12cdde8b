"""The GraphQL endpoint: strawberry's ASGI view with bizgraph's context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, GraphQLSchema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.auth.principal import Principal
from app.errors import BizgraphError, CostExceeded, DatabaseUnavailable, RateLimited, Unauthenticated
from app.http import request_body
from app.http.errors import response_for
from app.http.graphiql import graphiql_assets_built, graphiql_html
from app.http.media_types import GraphQLMediaType, negotiate
from app.http.persisted import PersistedOperations, names_a_document, with_persisted_reference
from app.http.request_id import request_id_of
from resolvers.planner.pagination import PageLimits
from resolvers.scope import OperationScope
from schema.context import Context
from schema.cost.gate import CostGate, CostReport
from schema.errors import classify_all
from schema.fastpath import FastPath
from schema.introspection import uses_introspection
from schema.limits.parsing import documents_of
from schema.prepared import PreparedOperation, prepare_operation

if TYPE_CHECKING:
    # strawberry's request adapter type, from the library it builds its views on.
    from cross_web import AsyncHTTPRequestAdapter


class _SubResponse(Response):
    """strawberry's per-request stand-in for the response (where a resolver may set a status
    or a header), carrying the media type negotiated for the answer from ``Accept``."""

    def __init__(self, media_type: GraphQLMediaType) -> None:
        super().__init__()
        self.graphql_media_type = media_type
        # As strawberry makes it: no status of its own and no length, only what is set on it.
        self.status_code = None  # type: ignore[assignment]
        del self.headers["content-length"]


class BizgraphGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Any,
        *,
        fast_path: bool = True,
        introspection_roles: frozenset[str] | None = None,
        cost_gate: CostGate | None = None,
        persisted_only_roles: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        # None: operations are neither priced nor limited (embedded uses without limits).
        self.cost_gate = cost_gate
        # graphql-core's schema under strawberry's: what operations are prepared against.
        self.graphql_schema: GraphQLSchema = schema._schema
        self.fast_path = FastPath(self.graphql_schema) if fast_path else None
        # None: everyone may introspect (demo mode).
        self.introspection_roles = introspection_roles
        self.persisted = PersistedOperations(schema._schema, documents_of(schema._schema), persisted_only_roles)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except Exception as error:
            # strawberry answers its own refusals as text/plain and lets the rest
            # escape as a 500; every one gets the JSON error contract instead.
            response = response_for(error, request_id_of(scope))
        await response(scope, receive, send)

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
        try:
            request_data = await self.persisted.resolve(request_data, principal, request.app.state.database)
        except BizgraphError as refusal:
            # Refused before it ran: a request error (no data), answered like any other.
            return ExecutionResult(data=None, errors=[GraphQLError(refusal.message, original_error=refusal)])
        if not self._may_introspect(principal) and uses_introspection(request_data.query or ""):
            error = GraphQLError(
                "introspection is not allowed for your roles",
                extensions={"code": "FORBIDDEN"},
            )
            return ExecutionResult(data=None, errors=[error])
        # Parsed, validated and its variables coerced once, for the cost gate and the fast path.
        prepared = prepare_operation(
            self.graphql_schema, request_data.query, request_data.variables, request_data.operation_name
        )
        # Priced (and paid for) before any connection is taken: a refusal runs no SQL.
        try:
            cost = await self._admit(principal, request_adapter.method, prepared)
        except CostExceeded as refusal:
            return _refused(refusal, CostReport(refusal.cost, refusal.maximum))
        except RateLimited as refusal:
            sub_response.status_code = 429
            sub_response.headers["retry-after"] = str(refusal.retry_after_seconds)
            return _refused(refusal, CostReport(refusal.cost, self._maximum_cost(), refusal.remaining))
        extensions = {"cost": cost.as_extension()} if cost is not None else None
        # The one place an operation's database work begins and ends: closed once,
        # whether the operation answered, failed or was cancelled.
        async with self.operation_scope(request, principal, context.request_id) as scope:
            scoped = replace(context, scope=scope)
            if self.fast_path is not None and request_adapter.method in ("GET", "POST"):
                answer = await self.fast_path.execute(prepared, scope)
                if answer is not None:
                    return ExecutionResult(data=answer.data, errors=answer.errors or None, extensions=extensions)
            try:
                result = await super().execute_single(
                    request, request_adapter, sub_response, scoped, root_value, request_data
                )
            except HTTPException as refusal:
                cause = refusal.__cause__
                if isinstance(cause, InvalidOperationTypeError) and cause.operation_type is OperationType.MUTATION:
                    # GraphQL over HTTP: a mutation over GET is 405, and RFC 9110 wants Allow with it.
                    raise StarletteHTTPException(405, refusal.reason, headers={"Allow": "POST"}) from refusal
                raise
        if extensions is not None:
            result.extensions = {**(result.extensions or {}), **extensions}
        if _any_code(result, DatabaseUnavailable.code):
            # Fields met an unreachable database: the answer says so, and when to retry.
            sub_response.status_code = 503
            sub_response.headers["retry-after"] = str(DatabaseUnavailable.retry_after_seconds)
        return result

    async def _admit(self, principal: Principal, method: str, prepared: PreparedOperation | None) -> CostReport | None:
        if self.cost_gate is None:
            return None
        return await self.cost_gate.admit(
            principal,
            prepared,
            # A mutation over GET is refused (405) without being paid for.
            mutations_allowed=method == "POST",
        )

    def _maximum_cost(self) -> int:
        return self.cost_gate.maximum if self.cost_gate is not None else 0

    def operation_scope(self, request: Request | WebSocket, principal: Principal, request_id: str) -> OperationScope:
        """A new scope for one operation (a request's, or one tick of a subscription),
        over the application's database; the caller opens and closes it."""
        state = request.app.state
        return OperationScope(state.database, principal, state.page_limits, request_id)

    def _may_introspect(self, principal: Principal) -> bool:
        return self.introspection_roles is None or principal.has_any(self.introspection_roles)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        request_id = request_id_of(request.scope)
        request.state.request_id = request_id
        # Set by the bearer-token gate in front of this route. The one request it
        # lets through without a token is the GraphiQL page itself, which runs
        # nothing; without a principal no operation scope is ever opened.
        principal: Principal | None = getattr(request.state, "principal", None)
        return Context(principal=principal, request=request, response=response, request_id=request_id)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Errors raised before the operation's extensions wrap up (e.g. a syntax
        # error found by the parser cache) still get their code here.
        if result.errors:
            suggestions = not self.schema.config.disable_field_suggestions
            result.errors = classify_all(
                result.errors, getattr(request.state, "request_id", "-"), suggestions=suggestions
            )
        response = await super().process_result(request, result)
        if _is_request_error(result) and _media_type_of(request) is GraphQLMediaType.GRAPHQL_RESPONSE_JSON:
            # The operation never ran: under the new media type the answer says so by
            # having no data entry at all (and create_response gives it a 4xx).
            del response["data"]
        return response

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        media_type = negotiate(request.headers.get("accept"))
        request.state.graphql_media_type = media_type
        return _SubResponse(media_type)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = (
            sub_response.graphql_media_type if isinstance(sub_response, _SubResponse) else GraphQLMediaType.JSON
        )
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = media_type.content_type
        if not sub_response.status_code and isinstance(response_data, dict) and "data" not in response_data:
            # Only a request error leaves out data (process_result); a status set on the
            # sub-response by the operation itself (429, 503 ...) is more precise and stays.
            response.status_code = _request_error_status(response_data)
        return response

    def should_render_graphql_ide(self, request: AsyncHTTPRequestAdapter) -> bool:  # type: ignore[override]
        # A GET that names a persisted document has no ``query`` either (Apollo sends hashed
        # queries so, accepting */*): it asks for an answer, not for the IDE.
        return super().should_render_graphql_ide(request) and not names_a_document(request.query_params)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_html(endpoint=str(request.url.path), assets_available=graphiql_assets_built()))


def _refused(refusal: CostExceeded | RateLimited, report: CostReport) -> ExecutionResult:
    error = GraphQLError(refusal.message, original_error=refusal)
    return ExecutionResult(data=None, errors=[error], extensions={"cost": report.as_extension()})


def _is_request_error(result: ExecutionResult) -> bool:
    """The operation never ran: parsing, validation, variable coercion or a refusal before
    execution stopped it. graphql-core gives every error raised while executing a path (and then
    data, perhaps null); errors from before execution have none."""
    return result.data is None and bool(result.errors) and all(error.path is None for error in result.errors or ())


# Request errors more precise than 400, when they are the only ones.
_STATUS_OF_REQUEST_ERROR = {
    # Refused for the principal's roles alone.
    "FORBIDDEN": 403,
    "PERSISTED_QUERY_REQUIRED": 403,
    # The named stored document is unknown: the client may send it with its text.
    "PERSISTED_QUERY_NOT_FOUND": 404,
}


def _request_error_status(response_data: GraphQLHTTPResponse) -> int:
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


def _any_code(result: ExecutionResult, code: str) -> bool:
    return any((error.extensions or {}).get("code") == code for error in result.errors or ())


def page_limits(settings: Any) -> PageLimits:
    return PageLimits(
        default=settings.default_page_size, maximum=settings.max_page_size, max_groups=settings.max_aggregate_groups
    )
