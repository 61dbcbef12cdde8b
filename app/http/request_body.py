"""What a GraphQL request may carry, checked before any work.

strawberry assumes a JSON body is an object and its strings are text PostgreSQL
can store; a body of ``"x"`` or ``null``, a non-string ``operationName``, a NUL
byte or a lone surrogate otherwise fail deep inside as a 500. These checks make
them what they are: a malformed request (400 ``BAD_REQUEST``).
"""

from __future__ import annotations

from typing import Any

from strawberry.http import GraphQLRequestData, GraphQLRequestProtocol

from app.errors import BadRequest


def request_data(body: object, protocol: GraphQLRequestProtocol) -> GraphQLRequestData:
    """The operation a JSON body asks for, or ``BadRequest`` saying what is wrong with it."""
    if isinstance(body, list):
        raise BadRequest("Batching is not enabled: send one operation per request")
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object with a `query`")
    for key, allowed in (("query", str), ("operationName", str), ("variables", dict), ("extensions", dict)):
        value = body.get(key)
        if value is not None and not isinstance(value, allowed):
            kind = "a string" if allowed is str else "an object"
            raise BadRequest(f"`{key}` must be {kind} or null, if provided")
    return GraphQLRequestData(
        query=body.get("query"),
        variables=body.get("variables"),
        operation_name=body.get("operationName"),
        extensions=body.get("extensions"),
        protocol=protocol,
    )


def refuse_unstorable_text(data: GraphQLRequestData) -> None:
    """``BadRequest`` when a string anywhere in the operation holds a NUL or a lone
    surrogate: PostgreSQL's text cannot hold the first, UTF-8 cannot encode the second."""
    pending: list[Any] = [data.query, data.operation_name, data.variables, data.extensions]
    # A loop over a stack, not recursion: variables may nest as deep as JSON allows.
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise BadRequest("the request contains a NUL character, which no field accepts")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest("the request contains a lone surrogate, which is not text") from None
