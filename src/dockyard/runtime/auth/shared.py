"""Per-key rate limits shared by every API process and replica, kept in the stack's Redis.

One Lua script per request does the whole decision atomically on Redis's clock: drop expired
in-flight leases, check the in-flight cap, refill and take a token, record this request's
lease. A request's lease ends when it answers (or after LEASE_S, if its process died). When
Redis cannot be reached the process falls back to its own in-memory bucket (logged): limits
protect availability, so losing Redis must not refuse every caller.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("dockyard.auth")

LEASE_S = 300.0  # longest a request counts as in flight if its process dies mid-request
WARN_EVERY_S = 30.0
# KEYS: the key's bucket hash, its in-flight sorted set.
# ARGV: rate per second, bucket size, in-flight cap, request id, lease in ms.
# Returns the seconds to wait as a string ("0": go ahead).
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, size, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lease = tonumber(ARGV[5])
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= cap then return '1' end
end
if rate > 0 then
  local b = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
  local tokens = tonumber(b[1]) or size
  local stamp = tonumber(b[2]) or now
  tokens = math.min(size, tokens + math.max(0, now - stamp) / 1000 * rate)
  local wait = 0
  if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(size / rate * 1000) + 1000)
  if wait > 0 then return tostring(wait) end
end
if cap > 0 then
  redis.call('ZADD', KEYS[2], now + lease, ARGV[4])
  redis.call('PEXPIRE', KEYS[2], lease)
end
return '0'
"""


@dataclass(frozen=True)
class RedisLimits:
    """Where the shared buckets live: the queue's Redis, namespace and login."""

    url: str
    namespace: str
    login: Mapping[str, str]


@dataclass(frozen=True)
class Ticket:
    """One request's decision: seconds to wait (0: admitted) and its in-flight lease."""

    wait: float
    key_id: str
    request: str
    leased: bool


class SharedLimiter:
    """Token buckets and in-flight caps per key id, in Redis under `{namespace}:ratelimit:`."""

    def __init__(self, settings: RedisLimits) -> None:
        from redis.asyncio import Redis

        login = settings.login
        self.redis: Redis = Redis.from_url(
            settings.url, username=login.get("username"), password=login.get("password")
        )
        self.prefix = f"{{{settings.namespace}}}:ratelimit:"
        self.script = self.redis.register_script(_SCRIPT)
        self._warned = 0.0

    async def acquire(self, key_id: str, rate: float, size: int, cap: int) -> Ticket | None:
        """The decision for one request; None when Redis failed (use the local bucket)."""
        request = secrets.token_hex(8)
        keys = [self._key(key_id, "bucket"), self._key(key_id, "inflight")]
        args: list[Any] = [rate, size, cap, request, int(LEASE_S * 1000)]
        try:
            wait = float(await self.script(keys=keys, args=args))
        except Exception as exc:  # any Redis failure: the local bucket takes over
            self._warn(exc)
            return None
        return Ticket(wait, key_id, request, leased=cap > 0 and wait == 0)

    async def release(self, ticket: Ticket) -> None:
        """The request answered: its in-flight lease ends now."""
        if not ticket.leased:
            return
        try:
            await self.redis.zrem(self._key(ticket.key_id, "inflight"), ticket.request)
        except Exception as exc:  # the lease expires by itself
            self._warn(exc)

    async def close(self) -> None:
        await self.redis.aclose()

    def _key(self, key_id: str, kind: str) -> str:
        return f"{self.prefix}{key_id}:{kind}"

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_S:
            self._warned = now
            log.warning(
                "shared rate limits unavailable; limiting per process", extra={"error": str(exc)}
            )
