"""The codes a socket is closed with (README "Subscriptions" has the table).

graphql-ws clients give up on 4400, 4401, 4406, 4409, 4429 and 4500 and reconnect on the others
(its client's list of fatal codes), which decides the choice where the protocol leaves one:
no or a bad token is 4401 (retrying the same token cannot help), an expired token 4403 (the
client reconnects, and its ``connectionParams`` function supplies a fresh token), a full server
1013 and a silent socket 4504 (both worth a retry, later or on a better network)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Close:
    code: int
    reason: str


GOING_AWAY = Close(1001, "Going away")
TRY_AGAIN_LATER = Close(1013, "Too many connections: try again later")
BAD_REQUEST = 4400  # with the reason of the malformed message
UNAUTHORIZED = 4401  # with the reason the token was refused, or "Unauthorized" before the ack
# Also with the reason the token's user may no longer act (disabled, deleted, demoted).
TOKEN_EXPIRED = Close(4403, "Forbidden: the access token expired")
SUBPROTOCOL_NOT_ACCEPTABLE = Close(4406, "Subprotocol not acceptable")
INIT_TIMEOUT = Close(4408, "Connection initialisation timeout")
SUBSCRIBER_EXISTS = 4409  # "Subscriber for <id> already exists"
TOO_MANY_INITS = Close(4429, "Too many initialisation requests")
INTERNAL_ERROR = Close(4500, "Internal server error")
SILENT = Close(4504, "No answer to pings")

# RFC 6455 §5.5: a control frame's payload is at most 125 bytes, two of them the code.
MAX_REASON_BYTES = 123


def bounded_reason(reason: str) -> str:
    """``reason``, cut to what a close frame can carry, on a character boundary."""
    encoded = reason.encode("utf-8")
    if len(encoded) <= MAX_REASON_BYTES:
        return reason
    return encoded[: MAX_REASON_BYTES - 3].decode("utf-8", errors="ignore") + "..."
