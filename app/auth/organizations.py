"""Organization slugs of external tokens, resolved to ids once and remembered.

Slugs practically never change, so a known one is kept for ``ttl`` seconds; an
unknown one is remembered briefly too, so that tokens naming a made-up
organization do not each cost a database round trip.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

LookUp = Callable[[str], Awaitable[int | None]]

MAX_ENTRIES = 10_000


class OrganizationIds:
    def __init__(
        self,
        look_up: LookUp,
        *,
        ttl: float = 300.0,
        unknown_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.look_up = look_up
        self.ttl = ttl
        self.unknown_ttl = unknown_ttl
        self.clock = clock
        self._known: dict[str, tuple[int | None, float]] = {}  # slug -> (id or None, valid until)

    async def id_for(self, slug: str) -> int | None:
        now = self.clock()
        cached = self._known.get(slug)
        if cached is not None and cached[1] > now:
            return cached[0]
        org_id = await self.look_up(slug)
        if len(self._known) >= MAX_ENTRIES:
            self._known.clear()  # made-up slugs must not grow memory without bound
        self._known[slug] = (org_id, now + (self.ttl if org_id is not None else self.unknown_ttl))
        return org_id
