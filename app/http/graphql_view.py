"""The GraphQL endpoint: strawberry's ASGI view with bizgraph's context."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from app.auth.principal import Principal
from app.errors import Unauthenticated
from app.http.graphiql import graphiql_assets_built, graphiql_html
from app.http.request_id import request_id_of
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

    def encode_json(self, data: object) -> str:
        # orjson is several times faster than json for large results; str keeps
        # WebSocket frames textual.
        return orjson.dumps(data).decode()

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
            return await super().execute_single(
                request, request_adapter, sub_response, scoped, root_value, request_data
            )

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
            result.errors = classify_all(result.errors, getattr(request.state, "request_id", "-"))
        return await super().process_result(request, result)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_html(endpoint=str(request.url.path), assets_available=graphiql_assets_built()))


def page_limits(settings: Any) -> PageLimits:
    return PageLimits(
        default=settings.default_page_size, maximum=settings.max_page_size, max_groups=settings.max_aggregate_groups
    )
