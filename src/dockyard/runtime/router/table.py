"""The routing table: configured weights and which versions are up, from which rotation derives.

Mutated only from the event loop (admin requests, the weights file, the health poller); every
change rebuilds the rotation and its balancer, so the hot path reads a ready-made snapshot.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from dockyard.runtime.router.policy import Balance, Balancer, balancer, sticky


class RoutingTable:
    """Weights per version, the versions that answer their readiness probe, and the rotation."""

    def __init__(
        self,
        weights: Mapping[str, float],
        balance: Balance = "round_robin",
        seed: int | None = None,
    ) -> None:
        self._weights = dict(weights)
        self._up: set[str] = set()  # nothing serves until its first readiness probe passes
        self._balance = balance
        self._rng = random.Random(seed)
        self._rebuild()

    @property
    def names(self) -> tuple[str, ...]:
        """Every configured version, in spec order."""
        return tuple(self._weights)

    @property
    def weights(self) -> dict[str, float]:
        """The configured weights, whether or not the version is up."""
        return dict(self._weights)

    @property
    def rotation(self) -> dict[str, float]:
        """Versions that take traffic now: up and weighted above zero."""
        return dict(self._rotation)

    def is_up(self, name: str) -> bool:
        return name in self._up

    def set_weights(self, weights: Mapping[str, float]) -> None:
        """Replace the weights of the versions named (others keep theirs)."""
        self._weights.update(weights)
        self._rebuild()

    def mark(self, name: str, up: bool) -> bool:
        """Record a readiness result; True when it changed the version's state."""
        if (name in self._up) == up:
            return False
        (self._up.add if up else self._up.discard)(name)
        self._rebuild()
        return True

    def choose(self, key: str | None = None) -> str | None:
        """The version for a request (sticky when keyed); None when nothing is in rotation."""
        if self._balancer is None:
            return None
        return sticky(key, self._rotation) if key else self._balancer.pick()

    def fallback(self, failed: str) -> str | None:
        """Where to retry a request `failed` could not answer: the heaviest other version in
        rotation, else any other version that is up (a draining old version still answers)."""
        others = {n: w for n, w in self._rotation.items() if n != failed}
        if others:
            return max(others, key=lambda n: others[n])
        return next((n for n in self._weights if n != failed and n in self._up), None)

    def _rebuild(self) -> None:
        self._rotation = {n: w for n, w in self._weights.items() if w > 0 and n in self._up}
        self._balancer: Balancer | None = (
            balancer(self._balance, self._rotation, self._rng) if self._rotation else None
        )
