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
together in the next, in one statement. A look-up also refreshes, ahead of their
expiry, the users asked for since their last look-up whose answers expire within
a third of the lifetime: the users of long-lived connections (ten thousand
sockets re-checking their users at every ping) are refreshed a few hundred at a
time every third of the lifetime, instead of a user or two in a statement each
time one of their answers runs out. An answer is never older than the lifetime.

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
# A look-up refreshes the users in use whose answers expire within this share of the lifetime.
REFRESH_AHEAD = 1 / 3


@dataclass(slots=True)
class _Known:
    """A user's last answer (None: no such user), until when it stands, and whether it was
    asked for since it was looked up (so it is worth refreshing before it runs out)."""

    standing: UserStanding | None
    expires: float
    used: bool = False


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
        # In the order of their expiry: every answer is (re)inserted at the end with the same
        # lifetime on a clock that only moves forward.
        self._seen: dict[int, _Known] = {}
        # Users asked for and not answered yet, and the task answering them.
        self._pending: dict[int, asyncio.Future[UserStanding | None]] = {}
        self._queued: list[int] = []
        self._looking_up: asyncio.Task[None] | None = None

    async def check(self, principal: Principal) -> None:
        """Raise ``Unauthenticated`` unless the principal's user may still act as the token says."""
        assert principal.user_id is not None  # callers check user tokens only
        refusal = _refusal(principal, await self._standing(principal.user_id))
        if refusal is not None:
            raise Unauthenticated("invalid_token", refusal)

    def known_fine(self, principal: Principal) -> bool:
        """Whether ``check`` would pass on an answer still standing, without waiting for
        anything: False when it must look the user up, or would refuse."""
        assert principal.user_id is not None
        known = self._fresh(principal.user_id)
        return known is not None and _refusal(principal, known.standing) is None

    def _fresh(self, user_id: int) -> _Known | None:
        known = self._seen.get(user_id)
        if known is None or known.expires <= self.clock():
            return None
        known.used = True
        return known

    async def _standing(self, user_id: int) -> UserStanding | None:
        known = self._fresh(user_id)
        if known is not None:
            return known.standing
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
        self._queue_refresh_ahead()
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

    def _queue_refresh_ahead(self) -> None:
        """Queues, with the look-up about to run, the users in use whose answers run out
        soon; drops the answers that ran out unused. Walks only the entries expiring within
        the horizon (the front of ``_seen``)."""
        now = self.clock()
        horizon = now + self.ttl_seconds * REFRESH_AHEAD
        unused: list[int] = []
        for user_id, known in self._seen.items():
            if known.expires > horizon:
                break
            if known.used:
                if user_id not in self._pending:
                    # Nobody waits for it; a request for this user meanwhile waits for it.
                    self._pending[user_id] = asyncio.get_running_loop().create_future()
                    self._queued.append(user_id)
            elif known.expires <= now:
                unused.append(user_id)
        for user_id in unused:
            del self._seen[user_id]

    def _remember(self, standings: Mapping[int, UserStanding | None]) -> None:
        now = self.clock()
        if len(self._seen) + len(standings) > self.max_entries:
            self._seen = {key: entry for key, entry in self._seen.items() if entry.expires > now}
            if len(self._seen) + len(standings) > self.max_entries:
                self._seen.clear()  # all fresh: start over rather than grow
        expires = now + self.ttl_seconds
        for user_id, standing in standings.items():
            # Moved to the end: the dictionary stays in the order of expiry.
            self._seen.pop(user_id, None)
            self._seen[user_id] = _Known(standing, expires)


def _refusal(principal: Principal, standing: UserStanding | None) -> str | None:
    """Why the principal's user may no longer act as its token says (None: it may)."""
    if standing is None or standing.org_id != principal.org_id:
        return "the token's user does not exist"
    if not standing.enabled:
        return "the token's user is disabled"
    if not principal.roles <= standing.roles:
        return "the token's roles are no longer the user's: sign in again"
    return None
