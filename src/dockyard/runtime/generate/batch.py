"""The model side of generation: who is in the batch, one step, and which sequences it ended.

It runs where the model runs and hears from the server side only through messages (`Join`,
`Leave`), answering each step with a `Report`. So every decision that falls between two steps
is made here, next to the model: who joins (up to `max_active`), who left, and whether a chunk
ends its sequence (None, `max_tokens`, a stop string) or fails it. A sequence that ends gets no
further step and its state is released at once; nothing here waits for the server. That is
what lets the model side move to a process of its own (docs/architecture.md, "Generation").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from dockyard.runtime.contract import GenerationParams
from dockyard.runtime.generate.sequence import StopFilter
from dockyard.runtime.generate.stepper import Stepper

log = logging.getLogger("dockyard.generate")


@dataclass(frozen=True)
class Join:
    """A new sequence for the batch: it joins at the next step with room."""

    key: int
    item: Any
    params: GenerationParams


@dataclass(frozen=True)
class Leave:
    """The server ended this sequence (cancelled, timed out, slow reader): no further step."""

    key: int


Message = Join | Leave


@dataclass
class Event:
    """What one step did to one sequence: chunks to stream, then perhaps its end."""

    key: int
    chunks: list[Any] = field(default_factory=list)
    produced: int = 0  # chunks the model made for it so far (usage: completion tokens)
    end: str | None = None  # stop | length | error
    error: str = ""  # why it failed, when end == "error"


@dataclass
class Report:
    """One step: the events, who joined the batch, and how many sequences were stepped."""

    events: list[Event]
    joined: list[int]
    stepped: int
    active: int  # sequences still in the batch after the step
    left: int = 0  # sequences that left the batch: ended by this step or by the server
    seconds: float = 0.0  # the model's time for this step (joins included)


@dataclass(eq=False)
class _Live:
    state: Any
    params: GenerationParams
    stop: StopFilter
    produced: int = 0


class Batch:
    """The running batch and its waiting line, driven one `advance` at a time."""

    def __init__(self, stepper: Stepper, max_active: int) -> None:
        self.stepper, self.max_active = stepper, max_active
        self.waiting: dict[int, Join] = {}  # in arrival order
        self.active: dict[int, _Live] = {}

    def advance(self, messages: list[Message]) -> Report:
        """Apply the messages, admit joiners, step every live sequence once."""
        left = self._apply(messages)
        self._release([live.state for live in left])
        started = time.perf_counter()
        events: list[Event] = []
        joined = self._admit(events)
        stepped = list(self.active)
        if stepped:
            events += self._step(stepped)
        seconds = time.perf_counter() - started
        ended = [e.key for e in events if e.end is not None and e.key in self.active]
        self._release([self.active.pop(key).state for key in ended])
        return Report(
            events, joined, len(stepped), len(self.active), len(left) + len(ended), seconds
        )

    def end(self, keys: list[int]) -> None:
        """Take these sequences out now, wherever they are (their output could not be sent)."""
        for key in keys:
            self.waiting.pop(key, None)
        self._release([self.active.pop(k).state for k in keys if k in self.active])

    def _apply(self, messages: list[Message]) -> list[_Live]:
        left: list[_Live] = []
        for message in messages:
            if isinstance(message, Join):
                self.waiting[message.key] = message
            elif self.waiting.pop(message.key, None) is None and message.key in self.active:
                left.append(self.active.pop(message.key))
        return left

    def _admit(self, events: list[Event]) -> list[int]:
        """Start waiting sequences while there is room; one whose start raised fails alone."""
        room = self.max_active - len(self.active)
        joining = [self.waiting.pop(key) for key in list(self.waiting)[: max(room, 0)]]
        if not joining:
            return []
        states = self.stepper.join([j.item for j in joining], [j.params for j in joining])
        joined = []
        for join, state in zip(joining, states, strict=True):
            if isinstance(state, BaseException):
                events.append(Event(join.key, end="error", error=_described(state)))
            else:
                self.active[join.key] = _Live(state, join.params, StopFilter(join.params.stop))
                joined.append(join.key)
        return joined

    def _step(self, keys: list[int]) -> list[Event]:
        try:
            chunks = self.stepper.step([self.active[key].state for key in keys])
        except Exception as exc:  # a step that raised cannot tell whose input was at fault
            return [Event(key, end="error", error=_described(exc)) for key in keys]
        if len(chunks) != len(keys):  # the model broke the contract: one chunk per state
            problem = f"step returned {len(chunks)} chunks for {len(keys)} sequences"
            return [Event(key, end="error", error=problem) for key in keys]
        return [self._chunk(key, chunk) for key, chunk in zip(keys, chunks, strict=True)]

    def _chunk(self, key: int, chunk: Any) -> Event:
        live = self.active[key]
        event = Event(key, produced=live.produced)
        if chunk is None:
            return self._ended(event, live, "stop")
        if isinstance(chunk, BaseException):  # the model failed this one sequence
            event.end, event.error = "error", _described(chunk)
            return event
        if isinstance(chunk, str) and chunk == "":  # nothing this step (an I/O-bound model)
            return event
        live.produced += 1
        event.produced = live.produced
        stopped = False
        if isinstance(chunk, str):
            chunk, stopped = live.stop.feed(chunk)
        if not isinstance(chunk, str) or chunk:
            event.chunks.append(chunk)
        if stopped:
            event.end = "stop"
        elif live.produced >= live.params.max_tokens:
            self._ended(event, live, "length")
        return event

    @staticmethod
    def _ended(event: Event, live: _Live, reason: str) -> Event:
        tail = live.stop.flush()  # text held back in case it began a stop string
        if tail:
            event.chunks.append(tail)
        event.end = reason
        return event

    def _release(self, states: list[Any]) -> None:
        if not states:
            return
        try:
            self.stepper.release(states)
        except Exception:  # a failing release must not stop the others' generations
            log.exception("release() raised")


def _described(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
