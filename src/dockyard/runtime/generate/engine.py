"""The generation engine: continuous (iteration-level) batching on the model thread.

Each iteration: drop sequences that ended (cancelled, timed out) -> admit waiting ones up to
`max_active` -> one model step for all of them -> fan each chunk out to its sequence's bounded
buffer. So a new request joins at the next step, a finished or cancelled one never gets another
step, and a slow reader is dropped instead of holding memory or the batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from dockyard.runtime.batching import QueueFull
from dockyard.runtime.contract import GenerationParams
from dockyard.runtime.generate.metrics import GenerationMetrics
from dockyard.runtime.generate.sequence import (
    STREAM_BUFFER,
    GenerationFailed,
    Phase,
    Sequence,
)
from dockyard.runtime.generate.stepper import Stepper

log = logging.getLogger("dockyard.generate")
Advanced = tuple[list[Any], list[Any] | BaseException]


class Engine:
    """Owns the waiting queue and the running batch; `run` drives the model one step at a time."""

    def __init__(
        self,
        max_active: int,
        queue_size: int,
        timeout: float,
        metrics: GenerationMetrics | None = None,
        buffer: int = STREAM_BUFFER,
        clock: Callable[[], float] = time.monotonic,
        expose_errors: bool = False,
    ) -> None:
        self.max_active, self.queue_size, self.timeout = max_active, queue_size, timeout
        self.metrics, self.buffer, self.clock = metrics, buffer, clock
        self.expose_errors = expose_errors  # serving.expose_errors: the model's text to clients
        self.waiting: deque[Sequence] = deque()
        self.active: list[Sequence] = []
        self._leaving: list[Sequence] = []  # left the batch; the model releases them next
        self._wake = asyncio.Event()
        self._closed = False

    # ---- the client side -------------------------------------------------------------------
    def submit(self, item: Any, params: GenerationParams, request_id: str = "") -> Sequence:
        """Queue one generation; it joins the batch at the next step with room."""
        if self._closed:
            raise QueueFull("the service is shutting down")
        if len(self.waiting) >= self.queue_size:
            raise QueueFull(
                f"{len(self.waiting)} generations are waiting (bound {self.queue_size})"
            )
        seq = Sequence(item, params, request_id, self.clock(), self.buffer)
        seq.deadline = asyncio.get_running_loop().call_later(
            self.timeout, self.cancel, seq, "timeout"
        )
        self.waiting.append(seq)
        self._wake.set()
        return seq

    def cancel(self, seq: Sequence, cause: str) -> None:
        """End a sequence now (client gone, timeout, slow reader): it gets no further step."""
        if seq.ended:
            return
        error = None if cause == "disconnect" else GenerationFailed(cause, self._why(cause))
        seq.end(Phase.FAILED if error else Phase.CANCELLED, "cancelled", error)
        if self.metrics is not None:
            self.metrics.cancelled.labels(cause).inc()
        self._wake.set()

    def _why(self, cause: str) -> str:
        return {
            "timeout": f"not finished within {self.timeout}s",
            "slow_reader": f"the client read too slowly ({self.buffer} chunks unread)",
            "shutdown": "the server is shutting down",
        }.get(cause, "the generation engine failed")

    @property
    def idle(self) -> bool:
        return not self.waiting and not self.active

    def close(self) -> None:
        """Refuse new generations; `run` returns once the running ones have ended."""
        self._closed = True
        self._wake.set()

    def cancel_all(self, cause: str) -> None:
        for seq in [*self.waiting, *self.active]:
            self.cancel(seq, cause)

    # ---- the model side --------------------------------------------------------------------
    async def run(self, stepper: Stepper, executor: Executor | None = None) -> None:
        """Step until closed and empty; the model is called only from `executor`'s thread."""
        loop = asyncio.get_running_loop()
        while True:
            before = self._prune()
            if self._closed and self.idle and not self._leaving:
                return
            joining = self._admit()
            if not joining and not self.active and not self._leaving:
                self._wake.clear()
                await self._wake.wait()
                continue
            leaving, self._leaving = [s.state for s in self._leaving], []
            started = self.clock()
            joined, chunks = await loop.run_in_executor(
                executor,
                _advance,
                stepper,
                leaving,
                [s.item for s in joining],
                [s.params for s in joining],
                [s.state for s in self.active],
            )
            batch = self.active + self._started(joining, joined)
            self._deliver(batch, chunks, started)
            self.active = [s for s in batch if not s.ended]
            self._leaving = [s for s in batch if s.ended]
            if batch:
                self._observe_step(before, len(joining), len(batch), started)

    def _prune(self) -> int:
        """Move ended sequences out of the batch (to be released); how many were active."""
        before = len(self.active)
        self._leaving += [s for s in self.active if s.ended]
        self.active = [s for s in self.active if not s.ended]
        if any(s.ended for s in self.waiting):
            self.waiting = deque(s for s in self.waiting if not s.ended)
        return before

    def _admit(self) -> list[Sequence]:
        joining: list[Sequence] = []
        while self.waiting and len(self.active) + len(joining) < self.max_active:
            seq = self.waiting.popleft()
            if not seq.ended:
                seq.phase = Phase.ACTIVE
                joining.append(seq)
        return joining

    def _started(self, joining: list[Sequence], joined: list[Any]) -> list[Sequence]:
        """Attach each joiner's model state; those whose start raised fail alone."""
        started = []
        for seq, state in zip(joining, joined, strict=True):
            if isinstance(state, BaseException):
                self._fail(seq, "generation_failed", f"{type(state).__name__}: {state}")
            else:
                seq.state = state
                started.append(seq)
        return started

    def _deliver(
        self, batch: list[Sequence], chunks: list[Any] | BaseException, started: float
    ) -> None:
        if isinstance(chunks, BaseException):
            message = f"{type(chunks).__name__}: {chunks}"
        elif len(chunks) != len(batch):
            message = f"step returned {len(chunks)} chunks for {len(batch)} sequences"
        else:
            now = self.clock()
            for seq, chunk in zip(batch, chunks, strict=True):
                self._chunk(seq, chunk, now)
            return
        for seq in batch:  # a step that raised cannot tell whose input was at fault
            self._fail(seq, "generation_failed", message)

    def _chunk(self, seq: Sequence, chunk: Any, now: float) -> None:
        if seq.ended:  # cancelled while this step ran: its chunk is thrown away
            return
        if chunk is None:
            return self._finish(seq, "stop")
        if isinstance(chunk, BaseException):  # the model failed this one sequence
            return self._fail(seq, "generation_failed", f"{type(chunk).__name__}: {chunk}")
        if isinstance(chunk, str) and chunk == "":  # nothing this step (an I/O-bound model)
            return None
        seq.produced += 1
        self._time_chunk(seq, now)
        stopped = False
        if isinstance(chunk, str) and seq.stop is not None:
            chunk, stopped = seq.stop.feed(chunk)
        if (not isinstance(chunk, str) or chunk) and not seq.push(chunk):
            return self.cancel(seq, "slow_reader")
        if stopped:
            self._finish(seq, "stop")
        elif seq.produced >= seq.params.max_tokens:
            self._finish(seq, "length")

    def _time_chunk(self, seq: Sequence, now: float) -> None:
        if self.metrics is not None:
            if seq.last_chunk_at is None:
                self.metrics.ttft.observe(now - seq.submitted)
            else:
                self.metrics.per_chunk.observe(now - seq.last_chunk_at)
            self.metrics.chunks.inc()
        if seq.first_chunk_at is None:
            seq.first_chunk_at = now
        seq.last_chunk_at = now

    def _finish(self, seq: Sequence, reason: str) -> None:
        tail = seq.stop.flush() if seq.stop is not None else ""
        if tail and not seq.push(tail):
            return self.cancel(seq, "slow_reader")
        seq.end(Phase.FINISHED, reason)
        if self.metrics is not None:
            self.metrics.finished.labels(reason).inc()

    def _fail(self, seq: Sequence, kind: str, message: str) -> None:
        log.error("generation failed", extra={"request_id": seq.request_id, "error": message})
        if not self.expose_errors:
            message = (
                "the model failed on this generation; the server log has the details under "
                "this request id"
            )
        seq.end(Phase.FAILED, "error", GenerationFailed(kind, message))
        if self.metrics is not None:
            self.metrics.finished.labels("error").inc()

    def _observe_step(self, before: int, joined: int, stepped: int, started: float) -> None:
        m = self.metrics
        if m is None:
            return
        elapsed = max(self.clock() - started, 1e-9)
        m.steps.inc()
        m.step_time.observe(elapsed)
        m.step_size.observe(stepped)
        m.joined.observe(joined)
        m.left.observe(max(before + joined - len(self.active), 0))
        m.chunks_per_second.set(stepped / elapsed)
        m.active.set(len(self.active))
        m.waiting.set(len(self.waiting))


def _advance(
    stepper: Stepper,
    leaving: list[Any],
    items: list[Any],
    params: list[GenerationParams],
    states: list[Any],
) -> Advanced:
    """On the model thread: release the leavers, start the joiners, step every live one."""
    if leaving:
        try:
            stepper.release(leaving)
        except Exception:  # a failing release must not stop the others' generations
            log.exception("release() raised")
    joined = stepper.join(items, params) if items else []
    live = states + [s for s in joined if not isinstance(s, BaseException)]
    try:
        return joined, (stepper.step(live) if live else [])
    except Exception as exc:
        return joined, exc
