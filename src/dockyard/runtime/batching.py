"""Adaptive batching: inputs from concurrent requests share one predict(batch) call.

A batch is dispatched as soon as the model is free, so a lone request pays no waiting tax; while
the model is busy, arrivals pile up and form the next batch. `max_wait` optionally holds a partial
batch a little longer to grow it. The queue is bounded: a full queue refuses work at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


class QueueFull(Exception):
    """The batch queue is at its bound; the caller should answer 503 with Retry-After."""


class ClientGone(Exception):
    """The client disconnected before its input reached the model."""


@dataclass(eq=False)
class Pending:
    """One input waiting for the model, with the future its request awaits."""

    item: Any
    future: asyncio.Future[Any]
    enqueued: float
    request_id: str = ""


@dataclass(frozen=True)
class Outcome:
    """The result of one input: a value, or the exception its prediction raised."""

    value: Any = None
    error: BaseException | None = None


RunBatch = Callable[[list[Any]], Awaitable[Sequence[Outcome]]]


def next_batch(queue: deque[Pending], now: float, max_batch: int, max_wait: float) -> float | None:
    """How long to wait before dispatching: 0.0 = now, a delay, or None = nothing queued."""
    if not queue:
        return None
    if len(queue) >= max_batch or max_wait <= 0:
        return 0.0
    return max(0.0, queue[0].enqueued + max_wait - now)


@dataclass
class Batcher:
    """Collect inputs into batches and feed them to `run_batch`, one batch at a time."""

    run_batch: RunBatch
    max_batch: int = 64
    max_wait: float = 0.0
    queue_size: int = 1024
    clock: Callable[[], float] = time.monotonic
    on_batch: Callable[[list[Pending], float], None] | None = None
    queue: deque[Pending] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: bool = False
    _busy: bool = False

    def submit(self, items: Sequence[Any], request_id: str = "") -> list[asyncio.Future[Any]]:
        """Queue every input of one request, or none of them if the queue cannot take all."""
        if self._closed:
            raise QueueFull("the service is shutting down")
        if len(self.queue) + len(items) > self.queue_size:
            raise QueueFull(f"{len(self.queue)} inputs are queued (bound {self.queue_size})")
        loop = asyncio.get_running_loop()
        now = self.clock()
        futures = []
        for item in items:
            future = loop.create_future()
            self.queue.append(Pending(item, future, now, request_id))
            futures.append(future)
        self._wake.set()
        return futures

    @property
    def depth(self) -> int:
        return len(self.queue)

    @property
    def idle(self) -> bool:
        return not self.queue and not self._busy

    async def run(self) -> None:
        """Dispatch batches until closed and drained."""
        while not (self._closed and not self.queue):
            delay = next_batch(self.queue, self.clock(), self.max_batch, self.max_wait)
            if delay is None or delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            batch = self._take()
            if batch:
                await self._dispatch(batch)

    def close(self) -> None:
        """Refuse new inputs; `run` returns once the queue is drained."""
        self._closed = True
        self._wake.set()

    def _take(self) -> list[Pending]:
        """Pop up to max_batch inputs whose request still waits (timed out or gone are dropped)."""
        batch: list[Pending] = []
        while self.queue and len(batch) < self.max_batch:
            pending = self.queue.popleft()
            if not pending.future.done():
                batch.append(pending)
        return batch

    async def _dispatch(self, batch: list[Pending]) -> None:
        self._busy = True
        started = self.clock()
        try:
            outcomes = await self.run_batch([p.item for p in batch])
        except Exception as exc:  # run_batch itself broke: fail this batch, keep serving
            outcomes = [Outcome(error=exc)] * len(batch)
        finally:
            self._busy = False
        if self.on_batch is not None:
            self.on_batch(batch, started)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if outcome.error is not None:
                pending.future.set_exception(outcome.error)
            else:
                pending.future.set_result(outcome.value)
