"""The GraphQL endpoint: strawberry's ASGI view with bizgraph's context."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app.auth.principal import Principal
from app.errors import Unauthenticated
from app.http.graphiql import graphiql_assets_built, graphiql_html
from resolvers.planner.access import Access
from resolvers.planner.pagination import PageLimits
from resolvers.writes.runner import CommandService
from resolvers.reads import ReadService
from resolvers.transaction import RequestTransaction
from schema.context import Context
from schema.errors import classify_all
from schema.fastpath import FastPath
from schema.introspection import uses_introspection


class BizgraphGraphQL(GraphQL):
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
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        if context.principal is None:
            raise Unauthenticated(None, "an access token is required")
        if not self._may_introspect(context.principal) and uses_introspection(request_data.query or ""):
            await context.transaction.close()
            error = GraphQLError(
                "introspection is not allowed for your roles",
                extensions={"code": "FORBIDDEN"},
            )
            return ExecutionResult(data=None, errors=[error])
        if self.fast_path is not None and request_adapter.method in ("GET", "POST"):
            try:
                answer = await self.fast_path.execute(
                    request_data.query, request_data.variables, request_data.operation_name, context.reads
                )
            except BaseException:
                await context.transaction.close()
                raise
            if answer is not None:
                await context.transaction.close()
                return ExecutionResult(data=answer.data, errors=answer.errors or None)
        return await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)

    def _may_introspect(self, principal: Principal) -> bool:
        return self.introspection_roles is None or principal.has_any(self.introspection_roles)

    async def get_context(self, request: Request, response: Response | Any) -> Context:
        state = request.app.state
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        # Set by the bearer-token gate in front of this route. The one request it
        # lets through without a token is the GraphiQL page itself, which runs
        # nothing; without a principal there is no way to the database at all.
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:
            return Context(reads=None, transaction=None, principal=None, request=request, response=response, request_id=request_id)
        transaction = RequestTransaction(state.database, principal.org_id)
        reads = ReadService(transaction, Access(principal), state.page_limits)
        return Context(
            reads=reads,
            transaction=transaction,
            principal=principal,
            commands=CommandService(state.database, principal, state.page_limits, request_id),
            request=request,
            response=response,
            request_id=request_id,
        )

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
