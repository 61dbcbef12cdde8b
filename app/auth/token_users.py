"""Is the user behind a bizgraph-issued token still allowed what the token says?

A signed token stays valid until it expires, whatever happens to its user in the
meantime. So for every request with a user token bizgraph issued, the user is
checked: it exists, it belongs to the token's organization, it is not disabled,
and its roles still include every role of the token. The answer is remembered
per user for ``ttl_seconds`` (30 s by default): disabling a user, deleting it or
taking a role away takes effect within that time, for a lookup per user and
period rather than one per request.

Look-ups are shared: requests for a user already being looked up wait for that
look-up, and the users asked for while a look-up is in flight are looked up
together in the next, in one statement. Ten thousand sockets re-checking their
users at their pings cost a handful of statements, not one transaction per user.

Tokens of external issuers are not checked: their users live in the identity
provider, which decides how long its tokens live.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass

from app.auth.principal import Principal
from app.errors import Unauthenticated


@dataclass(frozen=True)
class UserStanding:
    """What the database says about a token's user now."""

    org_id: int
    roles: frozenset[str]
    enabled: bool


# The standing of each user found among the ids asked for; a user not in the answer is gone.
LookUpUsers = Callable[[Collection[int]], Awaitable[Mapping[int, UserStanding]]]

# Users looked up in one statement at most: a bounded parameter, a bounded answer.
MAX_BATCH = 500


class TokenUsers:
    def __init__(
        self,
        look_up: LookUpUsers,
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
        # Users asked for and not answered yet, and the task answering them.
        self._pending: dict[int, asyncio.Future[UserStanding | None]] = {}
        self._queued: list[int] = []
        self._looking_up: asyncio.Task[None] | None = None

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
        seen = self._seen.get(user_id)
        if seen is not None and seen[1] > self.clock():
            return seen[0]
        pending = self._pending.get(user_id)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._pending[user_id] = pending
            self._queued.append(user_id)
            if self._looking_up is None or self._looking_up.done():
                self._looking_up = asyncio.create_task(self._look_up_queued(), name="bizgraph-token-users")
        # Shielded: one caller going away (a closed socket) does not fail the others' look-up.
        return await asyncio.shield(pending)

    async def _look_up_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
            try:
                found = await self.look_up(batch)
            except Exception as error:  # every waiter gets the failure (the database is away)
                for user_id in batch:
                    future = self._pending.pop(user_id)
                    if not future.done():
                        future.set_exception(error)
                        # Retrieved here so that a waiter that went away leaves no warning.
                        future.exception()
                continue
            self._remember({user_id: found.get(user_id) for user_id in batch})
            for user_id in batch:
                future = self._pending.pop(user_id)
                if not future.done():
                    future.set_result(found.get(user_id))

    def _remember(self, standings: Mapping[int, UserStanding | None]) -> None:
        now = self.clock()
        if len(self._seen) + len(standings) > self.max_entries:
            self._seen = {key: entry for key, entry in self._seen.items() if entry[1] > now}
            if len(self._seen) + len(standings) > self.max_entries:
                self._seen.clear()  # all fresh: start over rather than grow
        expires = now + self.ttl_seconds
        for user_id, standing in standings.items():
            self._seen[user_id] = (standing, expires)
