"""Who a socket speaks for: the token of ``connection_init``, else the upgrade request's header,
verified exactly as an HTTP request's (signature, issuer, lifetime, the user still enabled)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.auth.principal import Principal
from app.auth.verify import Authenticator
from app.errors import Unauthenticated


async def authenticate_socket(
    authenticator: Authenticator, init_payload: Mapping[str, Any], upgrade_header: str | None
) -> tuple[Principal, float]:
    """The principal and the instant its token stops being accepted; ``Unauthenticated`` else."""
    # graphql-ws sends connectionParams as they are written; both spellings are common.
    value = init_payload.get("Authorization", init_payload.get("authorization"))
    if value is None:
        value = upgrade_header
    elif not isinstance(value, str):
        raise Unauthenticated("invalid_request", "Authorization in connection_init must be a string")
    return await authenticator.authenticate_until(value)
