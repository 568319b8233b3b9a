"""The service's lifecycle as an explicit state; liveness, readiness and a gauge derive from it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.Enum):
    """Where the service is in its life; only READY serves predictions."""

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"
    FAILED = "failed"


@dataclass
class Lifecycle:
    """Mutable holder of the current state and, when not ready, the reason why.

    A FAILED model keeps the process alive (liveness stays green, so its reason can be read at
    /readyz) but never ready; only a restart or a passing periodic canary clears it.
    """

    state: State = State.STARTING
    reason: str = "model is loading"

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    def to(self, state: State, reason: str = "") -> None:
        """Move to `state`; DRAINING is final (a shutdown is never undone)."""
        if self.state is State.DRAINING and state is not State.DRAINING:
            return
        self.state, self.reason = state, reason
