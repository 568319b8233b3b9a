"""In-package fake generative models for tests: they echo words and record every step.

`FakeGenerator` is step-wise (continuous batching), `FakeStreamer` uses the streaming form.
Both emit the prompt's words one per step (each followed by a space) and then finish; the prompt
"forever..." never finishes, "raise" fails in `start`, "explode" fails in `step`. `steps[prompt]`
counts the steps each prompt received, `batches` lists the prompts of every step in order.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from dockyard.runtime.contract import GenerationParams, GenerativeModel


@dataclass(eq=False)
class FakeSequence:
    """One fake sequence: its prompt, its words and how far it got."""

    prompt: str
    words: list[str]
    params: GenerationParams
    emitted: int = 0
    ident: int = 0


@dataclass
class Record:
    """What the fake saw, shared with the test that drives it (read under `lock`)."""

    steps: Counter[str] = field(default_factory=Counter)
    batches: list[list[str]] = field(default_factory=list)
    params: dict[str, GenerationParams] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeGenerator(GenerativeModel[str, str, str]):
    """Step-wise fake: one word per step, `step_delay` seconds per step."""

    step_delay: ClassVar[float] = 0.0
    record: Record

    def setup(self) -> None:
        self.record = Record()
        self._ids = itertools.count()

    def start(self, item: str, params: GenerationParams) -> FakeSequence:
        if item == "raise":
            raise ValueError("the fake refuses this prompt")
        with self.record.lock:
            self.record.params[item] = params
        return FakeSequence(item, item.split(), params, ident=next(self._ids))

    def step(self, states: list[FakeSequence]) -> list[str | None]:
        if self.step_delay:
            time.sleep(self.step_delay)
        with self.record.lock:
            self.record.batches.append([s.prompt for s in states])
            self.record.steps.update(s.prompt for s in states)
        if any(s.prompt == "explode" for s in states):
            raise RuntimeError("the fake's step failed")
        return [_next_word(s) for s in states]

    def release(self, state: FakeSequence) -> None:
        with self.record.lock:
            self.record.released.append(state.prompt)


class FakeStreamer(GenerativeModel[str, str, str]):
    """Streaming-form fake: `generate` yields one word per input per step."""

    step_delay: ClassVar[float] = 0.0
    record: Record

    def setup(self) -> None:
        self.record = Record()

    def generate(
        self, batch: list[str], params: list[GenerationParams]
    ) -> Iterator[list[str | None]]:
        states = [FakeSequence(p, p.split(), g) for p, g in zip(batch, params, strict=True)]
        while any(s.emitted <= len(s.words) or s.prompt.startswith("forever") for s in states):
            if self.step_delay:
                time.sleep(self.step_delay)
            with self.record.lock:
                self.record.batches.append([s.prompt for s in states])
                self.record.steps.update(s.prompt for s in states)
            yield [_next_word(s) for s in states]


def _next_word(seq: FakeSequence) -> str | None:
    if seq.prompt.startswith("forever"):
        seq.emitted += 1
        return "x "
    if seq.emitted >= len(seq.words):
        seq.emitted += 1
        return None
    seq.emitted += 1
    return seq.words[seq.emitted - 1] + " "
