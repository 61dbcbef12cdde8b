"""Stable error codes in ``extensions.code``, and masking of everything unexpected.

- our own ``BizgraphError``s keep their message and carry their code (and field);
- syntax errors → ``GRAPHQL_PARSE_FAILED``; validation → ``GRAPHQL_VALIDATION_FAILED``;
  bad variable values → ``BAD_USER_INPUT`` (all readable: they describe the request);
- a statement timeout → ``STATEMENT_TIMEOUT``; a database that cannot be reached →
  ``DATABASE_UNAVAILABLE`` (both with the request id: the client may report them);
- anything else is a bug: logged with the request id, shown as ``INTERNAL_SERVER_ERROR``.

Outside the demo, "Did you mean …?" is cut from every message: graphql-core suggests
argument, enum value, type and input field names, so a role without introspection
could discover the schema one guess at a time (strawberry's switch covers fields only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app.errors import BizgraphError, database_refusal

log = logging.getLogger("bizgraph.graphql")

# graphql-core's suggestion is " Did you mean X?", X being quoted names (never a "?").
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def without_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message)


def classify(error: GraphQLError, request_id: str, *, suggestions: bool = False) -> GraphQLError:
    if error.extensions and "code" in error.extensions:
        return error
    original = error.original_error
    refusal = database_refusal(original) if original is not None else None
    if refusal is not None:
        # Operational, not a bug: one line, no traceback; the id ties it to the client's report.
        log.warning("%s (request %s): %s", refusal.code, request_id, original)
        return _with(error, refusal.message, {"code": refusal.code, "requestId": request_id}, mask=True)
    if isinstance(original, BizgraphError):
        extensions: dict[str, Any] = {"code": original.code}
        if original.field:
            extensions["field"] = original.field
        return _with(error, error.message, extensions)
    if isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError):
        return _with(error, error.message, {"code": "GRAPHQL_PARSE_FAILED"})
    if error.path is None:
        # Raised before execution (validation, variable coercion): it describes
        # the request, never our internals, so it stays readable.
        code = "BAD_USER_INPUT" if error.message.startswith("Variable '$") else "GRAPHQL_VALIDATION_FAILED"
        message = error.message if suggestions else without_suggestions(error.message)
        return _with(error, message, {"code": code})
    if original is None:
        original = error
    log.error(
        "unexpected error in %s (request %s)",
        ".".join(str(p) for p in error.path or ()),
        request_id,
        exc_info=(type(original), original, original.__traceback__),
    )
    return _with(error, "Internal server error", {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}, mask=True)


def _with(error: GraphQLError, message: str, extensions: dict[str, Any], mask: bool = False) -> GraphQLError:
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None if mask else error.original_error,
        extensions=extensions,
    )


def classify_all(
    errors: list[GraphQLError] | None, request_id: str, *, suggestions: bool = False
) -> list[GraphQLError] | None:
    return None if errors is None else [classify(e, request_id, suggestions=suggestions) for e in errors]


def response_body(result: ExecutionResult, request_id: str, *, suggestions: bool = False) -> GraphQLHTTPResponse:
    """What an operation answers, before encoding: ``data``, its errors classified (a code
    each, internal ones masked and logged with the request id), then ``extensions``. Every
    transport and every live message is made by this one function, so their bytes agree."""
    errors = classify_all(result.errors, request_id, suggestions=suggestions) if result.errors else None
    response: GraphQLHTTPResponse = {"data": result.data}
    if errors:
        response["errors"] = [error.formatted for error in errors]
    if result.extensions:
        response["extensions"] = result.extensions
    return response


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            request_id = getattr(self.execution_context.context, "request_id", "-")
            # The demo's switch: suggestions stay on only where field suggestions do.
            suggestions = not self.execution_context.schema.config.disable_field_suggestions
            result.errors = classify_all(result.errors, request_id, suggestions=suggestions)
