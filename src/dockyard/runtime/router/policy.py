"""Which version answers a request: weighted balancing, and sticky keys by rendezvous hashing.

Pure and synchronous; the table in `table.py` decides *which* versions are eligible, this module
only spreads requests over them in proportion to their weights.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
from collections.abc import Mapping
from typing import Literal, Protocol

Balance = Literal["round_robin", "random"]


class Balancer(Protocol):
    """Picks the next version for a request that carries no sticky key."""

    def pick(self) -> str: ...


class RoundRobin:
    """Smooth weighted round robin (as in nginx): exact shares, versions interleaved.

    Over any N consecutive picks each version gets its share of N to within one request, so a
    10% canary sees every tenth request rather than a burst - and tests can assert exact splits.
    """

    def __init__(self, weights: Mapping[str, float]) -> None:
        self._weights = dict(weights)
        self._total = sum(self._weights.values())
        self._current = dict.fromkeys(self._weights, 0.0)

    def pick(self) -> str:
        current = self._current
        for name, weight in self._weights.items():
            current[name] += weight
        best = max(current, key=current.__getitem__)
        current[best] -= self._total
        return best


class Draw:
    """Independent weighted draws; reproducible when the random generator is seeded."""

    def __init__(self, weights: Mapping[str, float], rng: random.Random) -> None:
        self._names = list(weights)
        self._bounds = list(itertools.accumulate(weights.values()))
        self._rng = rng

    def pick(self) -> str:
        point = self._rng.random() * self._bounds[-1]
        return self._names[bisect.bisect_right(self._bounds, point)]


def balancer(kind: Balance, weights: Mapping[str, float], rng: random.Random) -> Balancer:
    """The balancer of `kind` over `weights` (all positive, at least one)."""
    return RoundRobin(weights) if kind == "round_robin" else Draw(weights, rng)


def sticky(key: str, weights: Mapping[str, float]) -> str:
    """The version a key belongs to: weighted rendezvous (highest random weight) hashing.

    Each version scores the key independently, so a key moves only when its own version leaves
    (or weights change), and keys spread over versions in proportion to their weights.
    """
    return max(weights, key=lambda name: _score(key, name, weights[name]))


def _score(key: str, name: str, weight: float) -> float:
    digest = hashlib.blake2b(f"{name}\0{key}".encode(), digest_size=8).digest()
    unit = (int.from_bytes(digest, "big") + 0.5) / 2**64  # uniform in (0, 1)
    return -weight / math.log(unit)
