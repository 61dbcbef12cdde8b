"""The GraphQL endpoint: strawberry's ASGI view with bizgraph's context."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app.graphiql import graphiql_assets_built, graphiql_html
from resolvers.planner.compile import org_scope
from resolvers.planner.pagination import PageLimits
from resolvers.reads import ReadService
from resolvers.transaction import RequestTransaction
from schema.context import Context
from schema.errors import classify_all


class BizgraphGraphQL(GraphQL):
    async def get_context(self, request: Request, response: Response | Any) -> Context:
        state = request.app.state
        transaction = RequestTransaction(state.database)
        reads = ReadService(transaction, org_scope(state.org_id), state.page_limits)
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        return Context(reads=reads, transaction=transaction, request=request, response=response, request_id=request_id)

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
