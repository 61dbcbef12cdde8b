"""The one place an exception becomes an HTTP response.

Every failure on every route answers the same shape, GraphQL's, so a GraphQL
client shows it as it shows any error::

    {"errors": [{"message": "...", "extensions": {"code": "...", "requestId": "..."}}]}

Expected refusals keep their message and code; a database that cannot be reached
is 503 with ``Retry-After``; anything else is a bug: logged once with its
traceback and the request id, answered 500 ``INTERNAL_SERVER_ERROR`` without details.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import orjson
from cross_web import HTTPException as ViewHTTPException
from starlette.exceptions import HTTPException as RouteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import (
    BizgraphError,
    DatabaseUnavailable,
    ShuttingDown,
    StatementTimeout,
    Unauthenticated,
    database_refusal,
)
from app.http.bearer_gate import challenge
from app.http.request_id import request_id_of

log = logging.getLogger("bizgraph.http")

# The code of a refusal that only has an HTTP status (strawberry's and Starlette's own).
CODE_OF_STATUS: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    *,
    headers: Mapping[str, str] | None = None,
    data_null: bool = False,
) -> Response:
    """A JSON error answer; ``data_null`` when execution had begun (GraphQL's ``data: null``)."""
    body: dict[str, object] = {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}
    if data_null:
        body = {"data": None, **body}
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store", **(headers or {})},
    )


def unavailable_response(refusal: DatabaseUnavailable | ShuttingDown, request_id: str) -> Response:
    return error_response(
        503, refusal.code, refusal.message, request_id, headers={"retry-after": str(refusal.retry_after_seconds)}
    )


def response_for(error: Exception, request_id: str) -> Response:
    """The answer to ``error``, raised while serving a request with ``request_id``."""
    if isinstance(error, ViewHTTPException):
        return error_response(error.status_code, _code_of(error.status_code), error.reason, request_id)
    if isinstance(error, RouteHTTPException):
        return error_response(
            error.status_code, _code_of(error.status_code), error.detail, request_id, headers=error.headers
        )
    if isinstance(error, Unauthenticated):
        return error_response(
            401, error.code, error.description, request_id, headers={"www-authenticate": challenge(error)}
        )
    refusal = database_refusal(error)
    if isinstance(refusal, DatabaseUnavailable):
        log.warning("%s (request %s): %s", refusal.code, request_id, error)
        return unavailable_response(refusal, request_id)
    if isinstance(refusal, StatementTimeout):
        # Execution had begun: answered like a timeout met by a field, as a GraphQL result.
        log.warning("%s (request %s): %s", refusal.code, request_id, error)
        return error_response(200, refusal.code, refusal.message, request_id, data_null=True)
    if refusal is not None:
        error = refusal
    if isinstance(error, BizgraphError):
        return error_response(400, error.code, error.message, request_id)
    log.error("unexpected error (request %s)", request_id, exc_info=error)
    return error_response(500, "INTERNAL_SERVER_ERROR", "Internal server error", request_id)


def _code_of(status: int) -> str:
    return CODE_OF_STATUS.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR")


class AnswerErrorsAsJson:
    """ASGI middleware around every route: an exception that escapes a route is
    answered by ``response_for`` instead of Starlette's ``text/plain`` 500.

    Starlette's own handler for ``Exception`` re-raises after answering (so the
    server logs it a second time); this one logs once, in ``response_for``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking_start)
        except asyncio.CancelledError:
            if started or not draining(scope):
                raise
            await cut_off_response(scope)(scope, receive, send)
        except Exception as error:
            if started:  # too late for another answer: the server closes the connection
                raise
            await response_for(error, request_id_of(scope))(scope, receive, send)


def cut_off_response(scope: Scope) -> Response:
    """The answer to a request the drain's deadline cut off (app/serving.py), from inside the
    cancelled task: the client hears why, and the server ends the request here rather than log
    it as a crash (the task's cancellation is taken back so the answer can be written)."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
    request_id = request_id_of(scope)
    log.warning("request %s cut off: the drain's deadline passed", request_id)
    return unavailable_response(ShuttingDown(), request_id)


def draining(scope: Scope) -> bool:
    """The application has begun to stop (its ``ready`` is false once a drain starts)."""
    app = scope.get("app")
    return app is not None and getattr(app.state, "ready", True) is False
