"""The principal of a request: who is asking, in which organization, as what."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.models.states import USER_ROLES

ROLES = frozenset(USER_ROLES)

# Roles a service client may be granted through its scopes. The others describe a
# person (their accounts, reports, own record or customer) and need a user.
SERVICE_ROLES = frozenset({"admin", "finance", "hr", "analyst"})


@dataclass(frozen=True)
class Principal:
    """Everything authorization needs, taken from a verified access token.

    ``roles`` add up: a principal may read what any of its roles may read.
    ``employee_id`` and ``customer_id`` anchor the personal row scopes
    ("my accounts", "my reports", "myself", "my customer").
    """

    org_id: int
    subject: str
    roles: frozenset[str]
    kind: Literal["user", "service"] = "user"
    user_id: int | None = None
    email: str | None = None
    employee_id: int | None = None
    customer_id: int | None = None
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    issuer: str | None = None

    def has_any(self, roles: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
        return not self.roles.isdisjoint(roles)
