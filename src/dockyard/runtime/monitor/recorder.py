"""Takes predictions off the hot path: a bounded queue drained by one background thread.

`/predict` only appends (request id, inputs, outputs) to a deque; the thread turns them into JSON
and hands batches to the sinks (prediction store, input drift, payload log). When the backlog is
full new records are dropped and counted: monitoring must never slow or block serving.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("dockyard.monitor")


@dataclass(frozen=True)
class Codec:
    """How the model's inputs and outputs become JSON data (its type adapters)."""

    input: Callable[[Any], Any]
    output: Callable[[Any], Any]
    output_json: Callable[[Any], bytes]


@dataclass(frozen=True)
class Record:
    """One input and its output, keyed `request_id/index`; turned into JSON only when read."""

    id: str
    item: Any
    value: Any
    at: float
    codec: Codec

    @functools.cached_property
    def input(self) -> Any:
        return self.codec.input(self.item)

    @functools.cached_property
    def output(self) -> Any:
        return self.codec.output(self.value)

    @functools.cached_property
    def output_json(self) -> str:
        return self.codec.output_json(self.value).decode()


class Sink(Protocol):
    """Something that consumes recorded predictions in the background thread."""

    def write(self, records: Sequence[Record]) -> None:
        """Take a batch of records (called from the recorder thread only)."""

    def tick(self, now: float) -> None:
        """Periodic upkeep: pruning, refreshing gauges."""

    def close(self) -> None: ...


Raw = tuple[str, Sequence[Any], Sequence[Any], float]


class Recorder:
    """The hot path's only monitoring cost: one sampling draw and one deque append."""

    def __init__(
        self,
        sinks: Sequence[Sink],
        codec: Codec,
        bound: int = 10_000,
        sample: float = 1.0,
        on_drop: Callable[[int], None] = lambda n: None,
        tick_s: float = 1.0,
    ) -> None:
        self.sinks = list(sinks)
        self.codec = codec
        self.bound, self.sample, self.on_drop, self.tick_s = bound, sample, on_drop, tick_s
        self.pending: deque[Raw] = deque()
        self.wake = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="dockyard-recorder", daemon=True)

    def record(self, request_id: str, items: Sequence[Any], values: Sequence[Any]) -> None:
        """Queue one request's predictions (never blocks; drops when the backlog is full)."""
        if self.sample < 1.0 and random.random() >= self.sample:
            return
        if len(self.pending) >= self.bound:
            self.on_drop(len(items))
            return
        self.pending.append((request_id, items, values, time.time()))

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Flush what is queued, then close the sinks."""
        self.stopping = True
        self.wake.set()
        if self.thread.is_alive():
            self.thread.join(timeout)
        for sink in self.sinks:
            sink.close()

    def flush(self) -> None:
        """Process everything queued now, in the caller's thread (tests, shutdown)."""
        self._drain()

    def _run(self) -> None:
        last_tick = 0.0
        while not self.stopping or self.pending:
            if not self._drain():
                self.wake.wait(0.25)
                self.wake.clear()
            now = time.time()
            if now - last_tick >= self.tick_s:
                last_tick = now
                self._each(functools.partial(_tick, at=now))

    def _drain(self, limit: int = 4096) -> int:
        records: list[Record] = []
        while self.pending and len(records) < limit:
            request_id, items, values, at = self.pending.popleft()
            for i, (item, value) in enumerate(zip(items, values, strict=True)):
                records.append(Record(f"{request_id}/{i}", item, value, at, self.codec))
        if records:
            self._each(lambda sink: sink.write(records))
        return len(records)

    def _each(self, call: Callable[[Sink], None]) -> None:
        for sink in self.sinks:
            try:
                call(sink)
            except Exception as exc:  # a broken sink must not stop the others or serving
                log.error("monitoring sink failed", extra={"sink": type(sink).__name__},
                          exc_info=exc)  # fmt: skip


def _tick(sink: Sink, at: float) -> None:
    sink.tick(at)
