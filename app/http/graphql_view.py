"""The GraphQL endpoint: strawberry's ASGI view with bizgraph's context."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult

from app.auth.principal import Principal
from app.errors import DatabaseUnavailable, Unauthenticated
from app.http import request_body
from app.http.errors import request_id_of, response_for
from app.http.graphiql import graphiql_assets_built, graphiql_html
from resolvers.planner.pagination import PageLimits
from resolvers.scope import OperationScope
from schema.context import Context
from schema.errors import classify_all
from schema.fastpath import FastPath
from schema.introspection import uses_introspection

if TYPE_CHECKING:
    # strawberry's request adapter type, from the library it builds its views on.
    from cross_web import AsyncHTTPRequestAdapter


class BizgraphGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Any,
        *,
        fast_path: bool = True,
        introspection_roles: frozenset[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(schema, **kwargs)
        self.fast_path = FastPath(schema._schema) if fast_path else None
        # None: everyone may introspect (demo mode).
        self.introspection_roles = introspection_roles

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
        else:
            parsed = await super().parse_http_body(request)
            if isinstance(parsed, list):  # only JSON bodies are lists, and they are refused above
                raise TypeError("a batch outside a JSON body")
            data = parsed
        request_body.refuse_unstorable_text(data)
        return data

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
        if not self._may_introspect(principal) and uses_introspection(request_data.query or ""):
            error = GraphQLError(
                "introspection is not allowed for your roles",
                extensions={"code": "FORBIDDEN"},
            )
            return ExecutionResult(data=None, errors=[error])
        # The one place an operation's database work begins and ends: closed once,
        # whether the operation answered, failed or was cancelled.
        async with self.operation_scope(request, principal, context.request_id) as scope:
            scoped = replace(context, scope=scope)
            if self.fast_path is not None and request_adapter.method in ("GET", "POST"):
                answer = await self.fast_path.execute(
                    request_data.query, request_data.variables, request_data.operation_name, scope
                )
                if answer is not None:
                    return ExecutionResult(data=answer.data, errors=answer.errors or None)
            result = await super().execute_single(
                request, request_adapter, sub_response, scoped, root_value, request_data
            )
        if _any_code(result, DatabaseUnavailable.code):
            # Fields met an unreachable database: the answer says so, and when to retry.
            sub_response.status_code = 503
            sub_response.headers["retry-after"] = str(DatabaseUnavailable.retry_after_seconds)
        return result

    def operation_scope(self, request: Request | WebSocket, principal: Principal, request_id: str) -> OperationScope:
        """A new scope for one operation (a request's, or one tick of a subscription),
        over the application's database; the caller opens and closes it."""
        state = request.app.state
        return OperationScope(state.database, principal, state.page_limits, request_id)

    def _may_introspect(self, principal: Principal) -> bool:
        return self.introspection_roles is None or principal.has_any(self.introspection_roles)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
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
        return await super().process_result(request, result)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_html(endpoint=str(request.url.path), assets_available=graphiql_assets_built()))


def _any_code(result: ExecutionResult, code: str) -> bool:
    return any((error.extensions or {}).get("code") == code for error in result.errors or ())


def page_limits(settings: Any) -> PageLimits:
    return PageLimits(
        default=settings.default_page_size, maximum=settings.max_page_size, max_groups=settings.max_aggregate_groups
    )
