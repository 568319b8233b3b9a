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

    A failed canary keeps the process alive (liveness green, the reason at /readyz) but never
    ready; a passing periodic canary clears it. A failed setup() is fatal: liveness turns red
    too, so a restart policy or kubelet replaces the process (only a restart can clear it).
    """

    state: State = State.STARTING
    reason: str = "model is loading"
    fatal: bool = False

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    @property
    def alive(self) -> bool:
        return not self.fatal

    def to(self, state: State, reason: str = "", fatal: bool = False) -> None:
        """Move to `state`; DRAINING is final (a shutdown is never undone), and so is fatal."""
        if self.fatal or (self.state is State.DRAINING and state is not State.DRAINING):
            return
        self.state, self.reason, self.fatal = state, reason, fatal
