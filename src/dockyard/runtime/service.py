"""The API service's core, independent of HTTP: model lifecycle, canary, batching, predictions."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from dockyard.runtime.batching import Batcher, Outcome, Pending
from dockyard.runtime.contract import Model, signature_of
from dockyard.runtime.generate.process import Launch, ModelProcess, ProcessRunner
from dockyard.runtime.golden import GoldenSample, load_golden, mismatch
from dockyard.runtime.lifecycle import Lifecycle, State
from dockyard.runtime.loader import load_model_class, set_up
from dockyard.runtime.logs import json_level
from dockyard.runtime.metrics import Metrics
from dockyard.runtime.runner import ModelRunner
from dockyard.runtime.startup import StartupClock
from dockyard.spec import Spec

log = logging.getLogger("dockyard.service")


class Service:
    """One model replica behind a batcher, with an explicit lifecycle and its metrics."""

    def __init__(self, spec: Spec, root: Path, *, in_container: bool = False) -> None:
        """`in_container`: artifacts are at their container paths (an image's entry point says)."""
        self.spec, self.root, self.in_container = spec, root, in_container
        self.startup = StartupClock()
        self.startup.mark("dockyard")
        self.model_cls: type[Model[Any, Any]] = load_model_class(spec, root)
        self.signature = signature_of(self.model_cls)
        self.startup.mark("model_import")
        self.outputs_json = TypeAdapter(list[self.signature.output_type])  # type: ignore[name-defined]
        self.metrics = Metrics(spec.model_name)
        self.lifecycle = Lifecycle()
        self.runner: ModelRunner | ProcessRunner | None = None
        # A generative model runs in a process of its own unless the spec keeps it on a thread
        # here (docs/generate.md, "Where it runs").
        self.own_process = self.signature.generative and spec.serving.executor == "auto"
        serving = spec.serving
        self.batcher = Batcher(
            self._run_batch,
            max_batch=serving.max_batch_size,
            max_wait=serving.max_batch_wait_ms / 1000,
            queue_size=serving.queue_size,
            on_batch=self._observe_batch,
        )
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the model in the background, so liveness answers while weights load."""
        self.startup.mark("server")
        self._tasks.append(asyncio.create_task(self._load(), name="dockyard-load"))

    async def _load(self) -> None:
        try:
            if self.own_process:
                await self._start_process()
            else:
                await asyncio.to_thread(self._setup_model)
        except Exception as exc:  # a model that cannot start must be restarted, not waited for
            self.set_state(State.FAILED, f"setup failed: {type(exc).__name__}: {exc}", fatal=True)
            log.error(
                "model failed to start", extra={"reason": self.lifecycle.reason}, exc_info=exc
            )
            return
        self._tasks.append(asyncio.create_task(self.batcher.run(), name="dockyard-batcher"))
        if not self.golden():
            log.warning("no golden samples (health.golden): readiness has no canary")
        await self.run_canary()
        self._tasks.append(asyncio.create_task(self._canary_loop(), name="dockyard-canary"))

    def _setup_model(self) -> None:
        model, seconds = set_up(self.spec, self.root, self.model_cls, self.in_container)
        self.metrics.load_seconds.set(seconds)
        # A generative model is stepped on the model thread, so predict must never run inline.
        inline = self.spec.serving.executor == "auto" and not self.signature.generative
        self.runner = ModelRunner(model, self.signature, inline)
        self.startup.mark("setup")

    async def _start_process(self) -> None:
        """Load the model in its own process; this one never holds it."""
        launch = Launch(
            self.spec,
            str(self.root),
            self.in_container,
            self.spec.serving.max_batch_size,
            json_level(),
        )
        process = ModelProcess(launch)
        try:
            ready = await process.start()
        except BaseException:
            await process.stop()  # reap it: its setup failed, or the server stopped meanwhile
            raise
        process.exit_hooks.append(self._model_exited)
        self.metrics.load_seconds.set(ready.setup_seconds)
        self.runner = ProcessRunner(process, self.signature, ready.defaults)
        self.startup.mark("setup")

    def _model_exited(self, reason: str) -> None:
        if self.lifecycle.state is not State.DRAINING:
            self.set_state(State.FAILED, reason, fatal=True)
            log.error("the model process exited", extra={"reason": reason})

    async def stop(self, grace: float) -> None:
        """Shutdown, in order: 1. refuse new work, 2. finish queued inputs, 3. release the model."""
        self.set_state(State.DRAINING, "shutting down")
        self.batcher.close()
        running = [t for t in self._tasks if t.get_name() == "dockyard-batcher"]
        if running:
            try:
                await asyncio.wait_for(asyncio.gather(*running), grace)
            except TimeoutError:
                log.warning(
                    "queued inputs not finished within the grace period",
                    extra={"queued": self.batcher.depth},
                )
        for task in self._tasks:
            task.cancel()
        if isinstance(self.runner, ProcessRunner):
            await self.runner.process.stop()
        elif self.runner is not None:
            await asyncio.to_thread(self.runner.close)

    def set_state(self, state: State, reason: str = "", fatal: bool = False) -> None:
        self.lifecycle.to(state, reason, fatal)
        self.metrics.set_state(self.lifecycle.state)

    # ---- health ----------------------------------------------------------------------------
    def golden(self) -> list[GoldenSample]:
        """The golden samples of the spec (empty when none are configured)."""
        path = self.spec.health.golden
        return load_golden(self.root / path) if path and (self.root / path).is_file() else []

    async def run_canary(self) -> None:
        """Predict the golden samples through the batcher; READY only if all match."""
        samples = self.golden()
        problem = await self.check_samples(samples) if samples else None
        self.metrics.canary_ok.set(0 if problem else 1)
        if problem:
            self.set_state(State.FAILED, f"canary failed: {problem}")
            log.error("canary failed", extra={"reason": problem})
        else:
            self.set_state(State.READY)
            if "canary" not in self.startup.marks:
                self.startup.mark("canary")
                log.info("started", extra={"startup": self.startup.report()})
            log.info("model ready", extra={"golden_samples": len(samples)})

    async def check_samples(self, samples: Sequence[GoldenSample]) -> str | None:
        """The first golden sample whose prediction differs beyond tolerance, described."""
        tol = self.spec.health.tolerance
        try:
            items = [self.signature.inputs.validate_python(s.input) for s in samples]
            futures = self.batcher.submit(items, "canary")
            outputs = await asyncio.gather(*futures)
        except Exception as exc:
            return f"golden inputs could not be predicted: {type(exc).__name__}: {exc}"
        for i, (sample, value) in enumerate(zip(samples, outputs, strict=True), 1):
            actual = self.signature.outputs.dump_python(value, mode="json")
            if problem := mismatch(actual, sample.output, tol.atol, tol.rtol):
                return f"sample {i}: {problem}"
        return None

    async def _canary_loop(self) -> None:
        interval = self.spec.health.canary_interval_s
        while interval > 0 and self.lifecycle.state in (State.READY, State.FAILED):
            await asyncio.sleep(interval)
            await self.run_canary()

    def readiness(self) -> tuple[bool, str]:
        """Ready when set up, canary matched, not draining, and the model's own health() agrees."""
        if not self.lifecycle.ready:
            return False, f"{self.lifecycle.state.value}: {self.lifecycle.reason}"
        try:
            healthy = self.runner is not None and self.runner.health()
        except Exception as exc:
            return False, f"model health() raised {type(exc).__name__}: {exc}"
        return (True, "ready") if healthy else (False, "model health() returned False")

    # ---- predictions -----------------------------------------------------------------------
    async def _run_batch(self, items: list[Any]) -> Sequence[Outcome]:
        assert self.runner is not None, "batches run only after setup"
        outcomes = await self.runner.run(items)
        values = [o.value for o in outcomes if o.error is None]
        labels, confidences = self.runner.classes_of(values)
        self.metrics.observe_classes(labels, confidences)
        if len(values) < len(outcomes):
            self.metrics.errors.inc(len(outcomes) - len(values))
        return outcomes

    def _observe_batch(self, batch: list[Pending], started: float) -> None:
        now = time.monotonic()
        self.metrics.batch_size.observe(len(batch))
        self.metrics.model_time.observe(now - started)
        for pending in batch:
            self.metrics.queue_wait.observe(started - pending.enqueued)
        self.metrics.queue_depth.set(self.batcher.depth)
