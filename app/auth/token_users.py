"""Is the user behind a bizgraph-issued token still allowed what the token says?

A signed token stays valid until it expires, whatever happens to its user in the
meantime. So for every request with a user token bizgraph issued, the user is
checked: it exists, it belongs to the token's organization, it is not disabled,
and its roles still include every role of the token. The answer is remembered
per user for ``ttl_seconds`` (30 s by default): disabling a user, deleting it or
taking a role away takes effect within that time, for a lookup per user and
period rather than one per request.

Tokens of external issuers are not checked: their users live in the identity
provider, which decides how long its tokens live.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.auth.principal import Principal
from app.errors import Unauthenticated


@dataclass(frozen=True)
class UserStanding:
    """What the database says about a token's user now."""

    org_id: int
    roles: frozenset[str]
    enabled: bool


LookUpUser = Callable[[int], Awaitable[UserStanding | None]]


class TokenUsers:
    def __init__(
        self,
        look_up: LookUpUser,
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.look_up = look_up
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._seen: dict[int, tuple[UserStanding | None, float]] = {}

    async def check(self, principal: Principal) -> None:
        """Raise ``Unauthenticated`` unless the principal's user may still act as the token says."""
        assert principal.user_id is not None  # callers check user tokens only
        standing = await self._standing(principal.user_id)
        if standing is None or standing.org_id != principal.org_id:
            raise Unauthenticated("invalid_token", "the token's user does not exist")
        if not standing.enabled:
            raise Unauthenticated("invalid_token", "the token's user is disabled")
        if not principal.roles <= standing.roles:
            raise Unauthenticated("invalid_token", "the token's roles are no longer the user's: sign in again")

    async def _standing(self, user_id: int) -> UserStanding | None:
        now = self.clock()
        seen = self._seen.get(user_id)
        if seen is not None and seen[1] > now:
            return seen[0]
        standing = await self.look_up(user_id)
        if len(self._seen) >= self.max_entries:
            self._seen = {key: entry for key, entry in self._seen.items() if entry[1] > now}
            if len(self._seen) >= self.max_entries:
                self._seen.clear()  # all fresh: start over rather than grow
        self._seen[user_id] = (standing, now + self.ttl_seconds)
        return standing
