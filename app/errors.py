"""The one error hierarchy of bizgraph.

Every error a client may see carries a stable ``code`` (it lands in
``extensions.code``). Anything that is not a ``BizgraphError`` is a bug: it is
logged with the request id and masked for the client.
"""

from __future__ import annotations


class BizgraphError(Exception):
    """An expected error whose message is safe to show to the client."""

    code = "BAD_REQUEST"

    def __init__(self, message: str, *, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConfigError(BizgraphError):
    """The configuration is missing or malformed; raised before serving."""

    code = "CONFIG_ERROR"


class Unauthenticated(BizgraphError):
    """The request carries no acceptable access token: HTTP 401 with a Bearer challenge.

    ``error`` is the RFC 6750 error code for the ``WWW-Authenticate`` header
    (``invalid_token``, ``invalid_request``), or None when no token was presented
    at all, in which case RFC 6750 says the challenge names no error.
    """

    code = "UNAUTHENTICATED"

    def __init__(self, error: str | None, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class BadUserInput(BizgraphError):
    """An argument value is well-typed but not acceptable (e.g. a filter value)."""

    code = "BAD_USER_INPUT"


class InvalidId(BadUserInput):
    """A global ID that does not decode, or names a different type."""

    code = "INVALID_ID"


class InvalidCursor(BadUserInput):
    """A pagination cursor that is malformed or was made for another ordering."""

    code = "INVALID_CURSOR"


class PageSizeExceeded(BadUserInput):
    """``first``/``last`` is negative or above the configured maximum."""

    code = "PAGE_SIZE_EXCEEDED"


class InvalidPagination(BadUserInput):
    """Pagination arguments that contradict each other (e.g. ``first`` with ``before``)."""

    code = "INVALID_PAGINATION"


class NotFound(BizgraphError):
    """The entity does not exist for this principal."""

    code = "NOT_FOUND"


class Forbidden(BizgraphError):
    """The principal may not read this field (the row itself exists for it)."""

    code = "FORBIDDEN"
