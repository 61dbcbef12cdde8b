"""Token buckets in Redis, shared by every process that points at the same server.

One Lua script refills and charges a bucket atomically (Redis runs a script alone), so two
processes charging the same principal at once never both spend the same units. A bucket
expires once it would be full again: idle principals cost Redis nothing.

Redis is a helper, not a dependency of answering: when it cannot be reached in time the
charge reports None, the operation goes through, and a warning is logged (once per outage).
"""

from __future__ import annotations

import logging
import math
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app.ratelimit.buckets import Charge, Clock, Refill

log = logging.getLogger("bizgraph.ratelimit")

# KEYS[1] the bucket; ARGV: capacity, units per second, now (s), cost, expiry (s).
# Answers the level before the charge, as text (a Lua number would become an integer); the
# caller draws the same conclusion from it as the script did (``Refill.charge``).
CHARGE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
local level = math.min(capacity, tokens + math.max(0, now - at) * per_second)
local left = level
if level >= cost then
  left = level - cost
end
redis.call('HSET', KEYS[1], 'tokens', tostring(left), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return tostring(level)
"""


class RedisBuckets:
    def __init__(
        self,
        url: str,
        capacity: int,
        *,
        clock: Clock = time.time,
        prefix: str = "bizgraph:ratelimit:",
        timeout_seconds: float = 0.25,
    ) -> None:
        self.capacity = capacity
        self.refill = Refill(capacity)
        # Wall-clock time: the processes sharing a bucket must agree on it.
        self.clock = clock
        self.prefix = prefix
        # Short timeouts: an unreachable Redis must not hold requests up for long.
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self.script = self.client.register_script(CHARGE_SCRIPT)
        self._failing = False

    async def charge(self, key: str, cost: int) -> Charge | None:
        now = self.clock()
        args: list[str | int | float] = [
            self.capacity,
            repr(self.refill.per_second),
            repr(now),
            cost,
            math.ceil(self.refill.seconds_to_fill),
        ]
        try:
            level_text = await self.script(keys=[self.prefix + key], args=args)
        except (RedisError, OSError) as error:
            if not self._failing:
                log.warning(
                    "rate limiting is off while Redis cannot be reached (letting operations through): %s", error
                )
            self._failing = True
            return None
        if self._failing:
            log.warning("Redis answers again: rate limiting is back on")
            self._failing = False
        _, outcome = self.refill.charge(float(level_text), cost)
        return outcome

    async def aclose(self) -> None:
        await self.client.aclose()
