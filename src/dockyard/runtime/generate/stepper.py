"""One interface over both generative forms: `join` sequences, then `step` all live ones.

The step-wise form maps straight onto it. The streaming form (`generate`) is adapted by cohorts:
the sequences that join at one step share one `generate` call, which advances once per step and
is closed as soon as none of its sequences is still live.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from dockyard.runtime.contract import GenerationParams, GenerativeModel, Signature


class Stepper(Protocol):
    """Runs on the model thread only."""

    def join(self, items: list[Any], params: list[GenerationParams]) -> list[Any]:
        """Start sequences; one state (or the Exception it raised) per item."""
        ...

    def step(self, states: list[Any]) -> list[Any]:
        """One chunk (None = finished) per state."""
        ...

    def release(self, states: list[Any]) -> None:
        """Free the states of sequences that left the batch."""
        ...


@dataclass
class StepwiseStepper:
    """The model's own `start`/`step`: sequences join and leave a batch at every step."""

    model: GenerativeModel[Any, Any, Any]
    preprocess: bool = False

    def join(self, items: list[Any], params: list[GenerationParams]) -> list[Any]:
        states: list[Any] = []
        for item, p in zip(items, params, strict=True):
            try:
                states.append(self.model.start(self._prepared(item), p))
            except Exception as exc:  # one bad prompt fails only its own sequence
                states.append(exc)
        return states

    def step(self, states: list[Any]) -> list[Any]:
        return list(self.model.step(states))

    def release(self, states: list[Any]) -> None:
        for state in states:
            self.model.release(state)

    def _prepared(self, item: Any) -> Any:
        return self.model.preprocess(item) if self.preprocess else item


@dataclass(eq=False)
class Cohort:
    """The sequences started together by one `generate` call, and that call's iterator."""

    steps: Iterator[list[Any]]
    members: int
    row: list[Any] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Member:
    """A sequence's state under the streaming form: its cohort and its index in it."""

    cohort: Cohort
    index: int


@dataclass
class CohortStepper:
    """The model's `generate`: each step's joiners form a cohort that runs until all leave."""

    model: GenerativeModel[Any, Any, Any]
    preprocess: bool = False

    def join(self, items: list[Any], params: list[GenerationParams]) -> list[Any]:
        batch = [self.model.preprocess(x) for x in items] if self.preprocess else items
        try:
            cohort = Cohort(iter(self.model.generate(batch, params)), len(items))
        except Exception as exc:
            return [exc] * len(items)
        return [Member(cohort, i) for i in range(len(items))]

    def step(self, states: list[Any]) -> list[Any]:
        for cohort in {m.cohort: None for m in states}:
            cohort.row = next(cohort.steps, None) or []
        return [_at(m.cohort.row, m.index) for m in states]

    def release(self, states: list[Any]) -> None:
        for member in states:
            member.cohort.members -= 1
            if member.cohort.members == 0:  # every sequence left: stop computing for them
                _close(member.cohort.steps)


def _at(row: list[Any], index: int) -> Any:
    return row[index] if index < len(row) else None


def _close(steps: Iterator[Any]) -> None:
    close = getattr(steps, "close", None)
    if close is not None:
        close()


def stepper_for(model: GenerativeModel[Any, Any, Any], signature: Signature) -> Stepper:
    """The continuous-batching stepper when the model is step-wise, else the cohort one."""
    if signature.stepwise:
        return StepwiseStepper(model, signature.has_preprocess)
    return CohortStepper(model, signature.has_preprocess)
