"""Stable error codes in ``extensions.code``, and masking of everything unexpected.

- our own ``BizgraphError``s keep their message and carry their code (and field);
- syntax errors → ``GRAPHQL_PARSE_FAILED``; validation → ``GRAPHQL_VALIDATION_FAILED``;
  bad variable values → ``BAD_USER_INPUT`` (all readable: they describe the request);
- anything else is a bug: logged with the request id, shown as ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from app.errors import BizgraphError

log = logging.getLogger("bizgraph.graphql")


def classify(error: GraphQLError, request_id: str) -> GraphQLError:
    if error.extensions and "code" in error.extensions:
        return error
    original = error.original_error
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
        return _with(error, error.message, {"code": code})
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


def classify_all(errors: list[GraphQLError] | None, request_id: str) -> list[GraphQLError] | None:
    return None if errors is None else [classify(e, request_id) for e in errors]


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            request_id = getattr(self.execution_context.context, "request_id", "-")
            result.errors = classify_all(result.errors, request_id)
