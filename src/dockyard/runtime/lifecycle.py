"""The service's lifecycle as an explicit state; liveness, readiness and a gauge derive from it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class State(enum.Enum):
    """Where the service is in its life; only READY serves predictions."""

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"
    FAILED = "failed"


@dataclass
class Lifecycle:
    """Mutable holder of the current state and, when not ready, the reason why."""

    state: State = State.STARTING
    reason: str = "model is loading"
    listeners: list[object] = field(default_factory=list, repr=False)

    @property
    def ready(self) -> bool:
        return self.state is State.READY

    @property
    def alive(self) -> bool:
        """A failed model keeps the process alive (so its reason can be read) but unready."""
        return True

    def to(self, state: State, reason: str = "") -> None:
        """Move to `state`; DRAINING and FAILED are never left for READY again."""
        if self.state is State.DRAINING and state is not State.DRAINING:
            return
        self.state, self.reason = state, reason
