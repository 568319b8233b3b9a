"""An item's progress through the stages, read from its job in each stage's queue."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.runtime.queue import Job, JobState
from dockyard.runtime.queue.base import JSON


class ItemState(enum.Enum):
    """Where an item is; DONE, DEAD and CANCELLED are final."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (ItemState.DONE, ItemState.DEAD, ItemState.CANCELLED)


@dataclass(frozen=True)
class StageView:
    """The item's job in one stage."""

    name: str
    state: str
    attempts: int
    error: str | None


@dataclass(frozen=True)
class ItemStatus:
    """The item as the API shows it: overall state, the stage it is at, output or error."""

    id: str
    state: ItemState
    stage: str
    output: JSON = None
    error: str | None = None
    stages: tuple[StageView, ...] = ()

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state.value,
            "stage": self.stage,
            "output": self.output,
            "error": self.error,
            "stages": [vars(s) for s in self.stages],
        }


def item_status(item: str, trace: Sequence[tuple[str, Job | None]]) -> ItemStatus | None:
    """Fold the per-stage jobs into one status; None when no stage has heard of the item.

    The furthest stage holding the item decides: an item is forwarded before the stage that
    forwarded it acknowledges, so an earlier stage may still say `running` for a moment.
    """
    reached = [(name, job) for name, job in trace if job is not None]
    if not reached:
        return None
    name, job = reached[-1]
    views = tuple(StageView(n, j.state.value, j.attempts, j.error) for n, j in reached)
    state = _state(job.state, first=name == trace[0][0], last=name == trace[-1][0])
    output = job.result if state is ItemState.DONE else None
    error = job.error if state in (ItemState.DEAD, ItemState.CANCELLED) else None
    return ItemStatus(item, state, name, output, error, views)


def _state(job: JobState, first: bool, last: bool) -> ItemState:
    """Done only after the last stage; queued only while waiting for the first."""
    if job is JobState.DONE:
        return ItemState.DONE if last else ItemState.RUNNING
    if job is JobState.QUEUED:
        return ItemState.QUEUED if first else ItemState.RUNNING
    return ItemState(job.value)
