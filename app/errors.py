"""The one error hierarchy of bizgraph.

Every error a client may see carries a stable ``code`` (it lands in
``extensions.code``). Anything that is not a ``BizgraphError`` is a bug: it is
logged with the request id and masked for the client.
"""

from __future__ import annotations

import psycopg
from sqlalchemy import exc as sqlalchemy_errors


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


class BadRequest(BizgraphError):
    """The request itself is malformed (its body, its JSON, its text): HTTP 400."""

    code = "BAD_REQUEST"


class StatementTimeout(BizgraphError):
    """A statement ran longer than ``statement_timeout``: the same request will
    take as long again, so a client should narrow it rather than retry."""

    code = "STATEMENT_TIMEOUT"

    def __init__(self) -> None:
        super().__init__("the query took longer than the server allows: ask for less (fewer rows, fewer fields)")


class DatabaseUnavailable(BizgraphError):
    """PostgreSQL cannot be reached (refused, gone, or no pooled connection in
    time): HTTP 503 with ``Retry-After``; the same request may succeed later."""

    code = "DATABASE_UNAVAILABLE"
    retry_after_seconds = 2

    def __init__(self) -> None:
        super().__init__("the database is unavailable: retry later")


class ShuttingDown(BizgraphError):
    """The process is draining before it stops: HTTP 503; another process answers."""

    code = "SHUTTING_DOWN"
    retry_after_seconds = 1

    def __init__(self) -> None:
        super().__init__("the server is shutting down")


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


class LimitExceeded(BizgraphError):
    """The request is bigger or more complex than a configured limit allows; nothing ran.

    ``setting`` names the environment variable that sets the limit, ``maximum`` its value;
    the message names both, so a client knows what to shrink and an operator what to raise.
    """

    code = "LIMIT_EXCEEDED"

    def __init__(self, what: str, *, setting: str, maximum: int, field: list[str] | None = None) -> None:
        super().__init__(f"{what}; the limit is {maximum} ({setting}).", field=field)
        self.setting = setting
        self.maximum = maximum


class CostExceeded(BizgraphError):
    """The operation's static cost (``schema/cost``) is above ``BIZGRAPH_MAX_COST``; nothing ran."""

    code = "COST_EXCEEDED"

    def __init__(self, cost: int, maximum: int) -> None:
        super().__init__(
            f"The operation costs {cost}, more than the maximum of {maximum} (BIZGRAPH_MAX_COST):"
            " ask for fewer items (smaller first/last) or fewer nested lists."
        )
        self.cost = cost
        self.maximum = maximum


class RateLimited(BizgraphError):
    """The principal's cost budget cannot pay for the operation now: HTTP 429 with
    ``Retry-After``; the same request succeeds once the budget has refilled."""

    code = "RATE_LIMITED"

    def __init__(self, cost: int, remaining: int, retry_after_seconds: int) -> None:
        super().__init__(
            f"The operation costs {cost} and only {remaining} remain of your budget"
            f" (BIZGRAPH_RATE_LIMIT_COST_PER_MINUTE): retry in {retry_after_seconds} s."
        )
        self.cost = cost
        self.remaining = remaining
        self.retry_after_seconds = retry_after_seconds


class RequestTooLarge(LimitExceeded):
    code = "REQUEST_TOO_LARGE"


class DocumentTooLarge(LimitExceeded):
    code = "DOCUMENT_TOO_LARGE"


class TooManyTokens(LimitExceeded):
    code = "TOO_MANY_TOKENS"


class TooDeep(LimitExceeded):
    code = "TOO_DEEP"


class TooManyAliases(LimitExceeded):
    code = "TOO_MANY_ALIASES"


class TooManyRootFields(LimitExceeded):
    """An operation selects more root fields than allowed: each is a statement or a
    command of its own."""

    code = "TOO_MANY_ROOT_FIELDS"


class TooManyDirectives(LimitExceeded):
    code = "TOO_MANY_DIRECTIVES"


class VariablesTooLarge(LimitExceeded):
    code = "VARIABLES_TOO_LARGE"


class ListTooLong(LimitExceeded):
    """A list argument or list input value (in the document or in the variables) is too long;
    ``field`` is the path of the argument holding it."""

    code = "LIST_TOO_LONG"


class TooManySubscriptions(LimitExceeded):
    """A connection, a principal or the process holds as many subscriptions (or sockets)
    as its limit allows; the new one did not start."""

    code = "TOO_MANY_SUBSCRIPTIONS"


class StreamOverflow(BizgraphError):
    """An event stream's client read more slowly than events came: the stream was ended
    rather than let its queue grow. Subscribing again with the last cursor received
    resumes it without loss."""

    code = "STREAM_OVERFLOW"

    def __init__(self) -> None:
        super().__init__("the event stream fell too far behind and was ended: subscribe again with your last cursor")


class PersistedQueryNotFound(BizgraphError):
    """A request named a document by its SHA-256 alone and no document with that hash is
    known. The message is the one Apollo's clients look for (besides the code): they send
    the request again with its ``query``, which registers it."""

    code = "PERSISTED_QUERY_NOT_FOUND"

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class PersistedQueryHashMismatch(BizgraphError):
    """A request sent a document with a hash that is not the SHA-256 of its text."""

    code = "PERSISTED_QUERY_HASH_MISMATCH"


class PersistedQueryRequired(BizgraphError):
    """The principal's roles may only run stored operations (BIZGRAPH_PERSISTED_ONLY_ROLES)."""

    code = "PERSISTED_QUERY_REQUIRED"


class NotFound(BizgraphError):
    """The entity does not exist for this principal."""

    code = "NOT_FOUND"


class Forbidden(BizgraphError):
    """The principal may not read this field (the row itself exists for it)."""

    code = "FORBIDDEN"


class CommandError(BizgraphError):
    """A command refused for a business reason; ``code`` is one of ``USER_ERROR_CODES``."""

    def __init__(self, code: str, message: str, *, field: list[str] | None = None) -> None:
        if code not in USER_ERROR_CODES:
            raise ValueError(f"undeclared user error code {code!r}")
        super().__init__(message, field=field)
        self.code = code


class Rejected(BizgraphError):
    """A command refused for one or more reasons, reported together (e.g. every
    invalid input field at once). Nothing it did is kept."""

    code = "REJECTED"

    def __init__(self, errors: list[BizgraphError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors


def database_refusal(error: BaseException) -> StatementTimeout | DatabaseUnavailable | BadUserInput | None:
    """What a driver or pool failure means to a client, or None when it is none a
    client can act on (anything else stays a bug, masked).

    A SQLAlchemy error carries the driver's error in ``orig``; statements sent
    through the driver connection raise psycopg's own errors."""
    if isinstance(error, sqlalchemy_errors.TimeoutError):  # no pooled connection in time
        return DatabaseUnavailable()
    if isinstance(error, sqlalchemy_errors.DBAPIError) and error.orig is not None:
        error = error.orig
    # QueryCanceled is an OperationalError too: tell it apart first. The server
    # cancels nothing else a client could still hear about (a cancelled task has
    # no client left), and the message is localised, so the class decides.
    if isinstance(error, psycopg.errors.QueryCanceled):
        return StatementTimeout()
    if isinstance(error, (psycopg.OperationalError, ConnectionError)):
        return DatabaseUnavailable()
    if isinstance(error, psycopg.DataError) and error.sqlstate is None:
        # Refused by the driver before sending: a value the request carried that
        # PostgreSQL's text cannot hold (a NUL written as a GraphQL escape). A data
        # error from the server (division by zero ...) is our SQL's fault: a bug.
        return BadUserInput("a value in the request cannot be used: it contains a NUL character")
    return None


# Every code a mutation payload's ``errors`` may carry, with what it means. The
# GraphQL enum ``UserErrorCode`` is built from this table, so codes stay stable
# and documented in one place.
USER_ERROR_CODES: dict[str, str] = {
    "INVALID": "The value is not acceptable for this field.",
    "REQUIRED": "The field needs a value.",
    "TOO_LONG": "The text is longer than the field allows.",
    "INVALID_EMAIL": "The value is not an email address.",
    "TOO_MANY_DECIMALS": "The amount has more decimal places than the currency (2).",
    "NOT_POSITIVE": "The number must be greater than zero.",
    "NEGATIVE": "The number must not be negative.",
    "INVALID_ID": "The ID does not decode, or names another type.",
    "NOT_FOUND": "No such entity exists for you.",
    "FORBIDDEN": "Your roles may not do this (to this entity).",
    "INVALID_TRANSITION": "The entity's state does not allow this action.",
    "CONFLICT": "The entity changed since you read it: read it again and retry with its new version.",
    "DUPLICATE": "Another entity already uses this value.",
    "IN_USE": "Other records still refer to this entity.",
    "PRODUCT_INACTIVE": "The product is not sold any more.",
    "INSUFFICIENT_STOCK": "There is not enough stock on hand.",
    "CREDIT_LIMIT_EXCEEDED": "Open receivables plus this order exceed the customer's credit limit.",
    "CUSTOMER_NOT_ACTIVE": "The customer is not active.",
    "EMPTY_ORDER": "The order has no lines.",
    "OVERPAYMENT": "The payment is more than the amount due.",
    "HAS_PAYMENTS": "The invoice has payments recorded against it.",
    "MANAGEMENT_CYCLE": "The change would make an employee manage themselves, directly or indirectly.",
    "HAS_REPORTS": "The employee still manages employed people: transfer them to another manager first.",
    "IDEMPOTENCY_KEY_REUSED": "The idempotency key was used before with a different request.",
    "CONSTRAINT_VIOLATION": "The change would break a rule of the data model.",
    "NOT_CONFIGURED": "The server is not set up for this (an operator must configure it first).",
}
