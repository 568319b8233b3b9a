"""One generation as the runtime sees it: its state, its bounded chunk buffer, its reader side."""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from dockyard.runtime.contract import GenerationParams

# Chunks a stream may hold for a slow reader before it is dropped (memory stays bounded).
STREAM_BUFFER = 256


class Phase(enum.Enum):
    """Where a sequence is: waiting to join, in the batch, or ended (one of three ways)."""

    WAITING = "waiting"
    ACTIVE = "active"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"


class GenerationFailed(Exception):
    """The generation ended with an error (the model raised, a slow reader, a timeout)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


class StopFilter:
    """Cuts text before the first stop string, holding back a tail that may begin one."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """(text safe to emit, whether a stop string was hit)."""
        if not self.stops:
            return text, False
        self.pending += text
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.pending = self.pending[: min(hits)], ""
            return out, True
        keep = max((_overlap(self.pending, s) for s in self.stops), default=0)
        out = self.pending[: len(self.pending) - keep]
        self.pending = self.pending[len(out) :]
        return out, False

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


def _overlap(text: str, stop: str) -> int:
    """The longest suffix of `text` that is a proper prefix of `stop`."""
    for k in range(min(len(text), len(stop) - 1), 0, -1):
        if stop.startswith(text[-k:]):
            return k
    return 0


@dataclass(eq=False)
class Sequence:
    """A generation: the engine pushes chunks, one reader iterates them."""

    item: Any
    params: GenerationParams
    request_id: str = ""
    submitted: float = 0.0
    buffer_limit: int = STREAM_BUFFER
    key: int = 0  # the engine's name for it in messages to the model side
    phase: Phase = Phase.WAITING
    produced: int = 0  # chunks the model made for it (usage: completion tokens)
    finish_reason: str | None = None  # stop | length | cancelled | error
    error: GenerationFailed | None = None
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    buffer: deque[Any] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    deadline: asyncio.TimerHandle | None = None

    @property
    def ended(self) -> bool:
        return self.phase in (Phase.FINISHED, Phase.CANCELLED, Phase.FAILED)

    def push(self, chunk: Any) -> bool:
        """Buffer one chunk for the reader; False when the reader is too slow (buffer full)."""
        if len(self.buffer) >= self.buffer_limit:
            return False
        self.buffer.append(chunk)
        self.wake.set()
        return True

    def end(self, phase: Phase, reason: str, error: GenerationFailed | None = None) -> None:
        """Leave the batch for good; the reader drains what is buffered (unless failed)."""
        if self.ended:
            return
        self.phase, self.finish_reason, self.error = phase, reason, error
        if self.deadline is not None:
            self.deadline.cancel()
        if error is not None:
            self.buffer.clear()  # a failed stream frees its memory at once
        self.wake.set()

    async def batches(self) -> AsyncIterator[list[Any]]:
        """All chunks buffered so far, as they come; raises GenerationFailed on failure."""
        while True:
            if self.buffer:
                batch = list(self.buffer)
                self.buffer.clear()
                yield batch
                continue
            if self.error is not None:
                raise self.error
            if self.ended:
                return
            self.wake.clear()
            await self.wake.wait()
