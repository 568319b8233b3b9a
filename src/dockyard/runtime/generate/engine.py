"""The generation engine's server side: continuous (iteration-level) batching, as seen from HTTP.

It keeps every sequence's buffer, deadline and metrics, and tells the model side (`batch.py`)
only who joins and who left. Each iteration sends those messages and runs one `Batch.advance` on
the model thread, then hands each chunk to its sequence's bounded buffer. So a new request joins
at the next step, a finished or cancelled one never gets another step, and a slow reader is
dropped instead of holding memory or the batch.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from dockyard.runtime.batching import QueueFull
from dockyard.runtime.contract import GenerationParams
from dockyard.runtime.generate.batch import Batch, Event, Join, Leave, Message, Report
from dockyard.runtime.generate.metrics import GenerationMetrics
from dockyard.runtime.generate.process import ModelProcess
from dockyard.runtime.generate.sequence import (
    STREAM_BUFFER,
    GenerationFailed,
    Phase,
    Sequence,
)
from dockyard.runtime.generate.stepper import Stepper

log = logging.getLogger("dockyard.generate")


class Engine:
    """Owns the sequences not yet ended; `run` drives the model side one step at a time."""

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
        self.live: dict[int, Sequence] = {}  # submitted and not ended, by key
        self.waiting: dict[int, Sequence] = {}  # of those, the ones not in the batch yet
        self._outbox: list[Message] = []  # for the model side, sent with the next step
        self._remote: ModelProcess | None = None  # the model side's process, when it has one
        self._keys = itertools.count()
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
        seq = Sequence(item, params, request_id, self.clock(), self.buffer, key=next(self._keys))
        seq.deadline = asyncio.get_running_loop().call_later(
            self.timeout, self.cancel, seq, "timeout"
        )
        self.live[seq.key] = self.waiting[seq.key] = seq
        self._send(Join(seq.key, item, params))
        return seq

    def cancel(self, seq: Sequence, cause: str) -> None:
        """End a sequence now (client gone, timeout, slow reader): it gets no further step."""
        if seq.ended:
            return
        error = None if cause == "disconnect" else GenerationFailed(cause, self._why(cause))
        self._forget(seq)
        self._send(Leave(seq.key))
        seq.end(Phase.FAILED if error else Phase.CANCELLED, "cancelled", error)
        if self.metrics is not None:
            self.metrics.cancelled.labels(cause).inc()
        self._wake.set()

    def _send(self, message: Message) -> None:
        if self._remote is not None:
            self._remote.send(message)
        else:
            self._outbox.append(message)
        self._wake.set()

    def _why(self, cause: str) -> str:
        return {
            "timeout": f"not finished within {self.timeout}s",
            "slow_reader": f"the client read too slowly ({self.buffer} chunks unread)",
            "shutdown": "the server is shutting down",
        }.get(cause, "the generation engine failed")

    def _forget(self, seq: Sequence) -> None:
        self.live.pop(seq.key, None)
        self.waiting.pop(seq.key, None)

    @property
    def idle(self) -> bool:
        return not self.live

    def close(self) -> None:
        """Refuse new generations; `run` returns once the running ones have ended."""
        self._closed = True
        self._wake.set()

    def cancel_all(self, cause: str) -> None:
        for seq in list(self.live.values()):
            self.cancel(seq, cause)

    # ---- driving the model side ------------------------------------------------------------
    async def run(self, stepper: Stepper, executor: Executor | None = None) -> None:
        """Step until closed and empty; the model is called only from `executor`'s thread."""
        loop = asyncio.get_running_loop()
        batch = Batch(stepper, self.max_active)
        while True:
            if self._closed and not self.live and not self._outbox:
                return
            if not self.live and not self._outbox:
                self._wake.clear()
                await self._wake.wait()
                continue
            messages, self._outbox = self._outbox, []
            self._apply(await loop.run_in_executor(executor, batch.advance, messages))

    async def run_remote(self, process: ModelProcess) -> None:
        """The model side runs in `process` on its own: send each message as it comes, apply
        each report as it arrives; returns once closed and empty, or when the process exits."""
        self._remote = process
        process.on_report = self._apply
        process.on_refused = self._refused
        process.exit_hooks.append(self._model_exited)
        for message in self._outbox:
            process.send(message)
        self._outbox = []
        while not (self._closed and not self.live) and not process.exited:
            self._wake.clear()
            await self._wake.wait()

    def _refused(self, key: int, reason: str) -> None:
        if (seq := self.live.get(key)) is not None:
            self._fail(seq, "generation_failed", reason)

    def _model_exited(self, reason: str) -> None:
        self.close()
        for seq in list(self.live.values()):
            self._fail(seq, "generation_failed", reason)

    def _apply(self, report: Report) -> None:
        """Hand each event to its sequence; those that ended here leave the server side too."""
        now = self.clock()
        for key in report.joined:
            if (seq := self.waiting.pop(key, None)) is not None:
                seq.phase = Phase.ACTIVE
        for event in report.events:
            seq = self.live.get(event.key)
            if seq is not None and not seq.ended:  # else: cancelled while the step ran
                self._deliver(seq, event, now)
        if self.metrics is not None:
            self.metrics.active.set(report.active)
            self.metrics.waiting.set(len(self.waiting))
            if report.stepped:
                self._observe_step(self.metrics, report)

    def _deliver(self, seq: Sequence, event: Event, now: float) -> None:
        if event.produced > seq.produced:
            seq.produced = event.produced
            self._time_chunk(seq, now)
        for chunk in event.chunks:
            if not seq.push(chunk):
                return self.cancel(seq, "slow_reader")
        if event.end == "error":
            return self._fail(seq, "generation_failed", event.error)
        if event.end is not None:
            self._forget(seq)  # the model side released it already
            seq.end(Phase.FINISHED, event.end)
            if self.metrics is not None:
                self.metrics.finished.labels(event.end).inc()

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

    def _fail(self, seq: Sequence, kind: str, message: str) -> None:
        log.error("generation failed", extra={"request_id": seq.request_id, "error": message})
        if not self.expose_errors:
            message = (
                "the model failed on this generation; the server log has the details under "
                "this request id"
            )
        self._forget(seq)  # the model side released it already
        seq.end(Phase.FAILED, "error", GenerationFailed(kind, message))
        if self.metrics is not None:
            self.metrics.finished.labels("error").inc()

    @staticmethod
    def _observe_step(m: GenerationMetrics, report: Report) -> None:
        elapsed = max(report.seconds, 1e-9)
        m.steps.inc()
        m.step_time.observe(elapsed)
        m.step_size.observe(report.stepped)
        m.joined.observe(len(report.joined))
        m.left.observe(report.left)
        m.chunks_per_second.set(report.stepped / elapsed)
