"""The caps on live data, per process: open sockets and streams, subscriptions per connection and
per principal. Past one, the newcomer is refused and the others go on."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from app.auth.principal import Principal
from app.errors import TooManySubscriptions

PrincipalKey = tuple[str | None, int, str]


def principal_key(principal: Principal) -> PrincipalKey:
    """One principal whatever token (or how many) it came with."""
    return (principal.issuer, principal.org_id, principal.subject)


@dataclass
class SubscriptionLease:
    """One running subscription, counted against its principal until released."""

    limits: LiveLimits
    key: PrincipalKey
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.limits.give_back(self.key)


class LiveLimits:
    def __init__(self, *, max_connections: int, per_connection: int, per_principal: int) -> None:
        self.max_connections = max_connections
        self.per_connection = per_connection
        self.per_principal = per_principal
        self.connections = 0
        self._held: Counter[PrincipalKey] = Counter()

    def open_connection(self) -> bool:
        """Counts a new socket or stream; False (and not counted) when the process is full."""
        if self.connections >= self.max_connections:
            return False
        self.connections += 1
        return True

    def close_connection(self) -> None:
        self.connections -= 1

    def subscribe(self, principal: Principal, *, held_by_connection: int) -> SubscriptionLease:
        """A lease for one more subscription, or ``TooManySubscriptions`` saying which cap is full."""
        if held_by_connection >= self.per_connection:
            raise TooManySubscriptions(
                f"this connection already holds {held_by_connection} subscriptions: complete one first",
                setting="BIZGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION",
                maximum=self.per_connection,
            )
        key = principal_key(principal)
        if self._held[key] >= self.per_principal:
            raise TooManySubscriptions(
                f"you already hold {self._held[key]} subscriptions across your connections",
                setting="BIZGRAPH_MAX_SUBSCRIPTIONS_PER_PRINCIPAL",
                maximum=self.per_principal,
            )
        self._held[key] += 1
        return SubscriptionLease(self, key)

    def give_back(self, key: PrincipalKey) -> None:
        self._held[key] -= 1
        if self._held[key] <= 0:
            del self._held[key]

    def held_by(self, principal: Principal) -> int:
        return self._held[principal_key(principal)]
