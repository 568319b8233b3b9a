"""Per-key rate limits: a token bucket (rps with a burst) and an optional in-flight cap.

In memory, per process: the default, and the fallback while Redis is unreachable. With the
stack's Redis, `shared.SharedLimiter` keeps the same bucket there so replicas share one limit
(docs/security.md says why and what it costs).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.runtime.auth.keys import Key

Clock = Callable[[], float]


@dataclass(frozen=True)
class Limits:
    """The spec's defaults, overridden per key by the keys file (0 = no limit)."""

    rps: float = 0.0
    burst: int = 0
    in_flight: int = 0

    def for_key(self, key: Key) -> Limits:
        rps = self.rps if key.rps is None else key.rps
        burst = self.burst if key.burst is None else key.burst
        in_flight = self.in_flight if key.in_flight is None else key.in_flight
        return Limits(rps, burst or max(1, math.ceil(2 * rps)), in_flight)


class Bucket:
    """Tokens refill at `rate` per second up to `size`; a request takes one."""

    def __init__(self, rate: float, size: int, now: float) -> None:
        self.rate, self.size = rate, float(size)
        self.tokens, self.stamp = float(size), now
        self.in_flight = 0

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        if self.rate <= 0:
            return 0.0
        self.tokens = min(self.size, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Limiter:
    """One bucket per key id; keys with no limit at all never reach a bucket."""

    def __init__(self, defaults: Limits, clock: Clock = time.monotonic) -> None:
        self.defaults, self.clock = defaults, clock
        self._buckets: dict[str, tuple[Bucket, int] | None] = {}

    def bucket(self, key: Key) -> tuple[Bucket, int] | None:
        """The key's bucket and in-flight cap, or None when the key is unlimited."""
        try:
            return self._buckets[key.id]
        except KeyError:
            limits = self.defaults.for_key(key)
            limited = limits.rps > 0 or limits.in_flight > 0
            found = (Bucket(limits.rps, limits.burst, self.clock()), limits.in_flight)
            self._buckets[key.id] = found if limited else None
            return self._buckets[key.id]

    def forget(self) -> None:
        """Drop every bucket (keys were rotated: new ids, maybe new limits)."""
        self._buckets.clear()
