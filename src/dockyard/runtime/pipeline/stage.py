"""One stage's worker: claim items from its queue, run its model, forward, then acknowledge.

The jobs pattern's `Worker` loop does the claiming, leases, retries with backoff, dead-letters
and graceful drain; this module only adapts a stage to its `Execute` callable. Forwarding comes
before the acknowledgement and is idempotent per item, so a replica killed at any point loses
nothing (its lease expires and the item is run again) and duplicates nothing downstream.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dockyard.errors import SpecError, SpecProblem
from dockyard.runtime.pipeline.metrics import PipelineMetrics
from dockyard.runtime.pipeline.queues import StageQueues, forward
from dockyard.runtime.queue import JobQueue
from dockyard.runtime.queue.base import JSON
from dockyard.runtime.worker.heartbeat import WorkerState
from dockyard.runtime.worker.loop import Execute, Policy, Result, Worker
from dockyard.spec import load_spec
from dockyard.spec.load import find_spec_file
from dockyard.spec.pipeline import Pipeline, Stage

Clock = Callable[[], float]
ENVELOPE_KEYS = ("item", "value", "submitted_at")


class StageExecutor:
    """Runs a stage's model on stored envelopes and forwards each output to the next queue."""

    def __init__(
        self,
        stage: str,
        predict: Execute,
        metrics: PipelineMetrics,
        next_queue: tuple[JobQueue, Stage] | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.stage, self.predict, self.metrics = stage, predict, metrics
        self.next_queue, self.clock = next_queue, clock

    def __call__(self, inputs: list[JSON]) -> Sequence[Result]:
        envelopes = [e if _is_envelope(e) else None for e in inputs]
        valid = [e for e in envelopes if e is not None]
        computed = iter(self._predict([e["value"] for e in valid]) if valid else [])
        results = [
            next(computed) if e is not None else Result(error="not an envelope", permanent=True)
            for e in envelopes
        ]
        results = self._forward(envelopes, results)
        self._observe(envelopes, results)
        return results

    def _predict(self, values: list[JSON]) -> list[Result]:
        started = self.clock()
        try:
            results = list(self.predict(values))
        except Exception as exc:  # the model adapter's own bug: every item is retried
            results = [Result(error=f"{type(exc).__name__}: {exc}")] * len(values)
        self.metrics.process_seconds.labels(self.stage).observe(max(0.0, self.clock() - started))
        return results

    def _forward(
        self, envelopes: list[Mapping[str, Any] | None], results: list[Result]
    ) -> list[Result]:
        """Hand successful outputs on; what the stage's own queue keeps is only a pointer."""
        if self.next_queue is None:
            return results
        queue, stage = self.next_queue
        ok = [(e, r) for e, r in zip(envelopes, results, strict=True) if e and r.error is None]
        try:
            forward(queue, [e for e, _ in ok], [r.value for _, r in ok], stage.max_attempts)
        except Exception as exc:  # next queue unreachable: retry the items later
            failed = Result(error=f"forwarding to {stage.name} failed: {type(exc).__name__}: {exc}")
            return [failed if r.error is None else r for r in results]
        return [
            Result(value={"forwarded_to": stage.name}) if r.error is None else r for r in results
        ]

    def _observe(self, envelopes: list[Mapping[str, Any] | None], results: list[Result]) -> None:
        now = self.clock()
        for envelope, result in zip(envelopes, results, strict=True):
            outcome = "ok" if result.error is None else "failed"
            self.metrics.items.labels(self.stage, outcome).inc()
            if envelope is not None and result.error is None:
                waited = now - float(envelope["submitted_at"])
                self.metrics.latency.labels(self.stage).observe(max(0.0, waited))


def _is_envelope(value: JSON) -> bool:
    return isinstance(value, dict) and all(k in value for k in ENVELOPE_KEYS)


def policy_for(stage: Stage, pipeline: Pipeline) -> Policy:
    """The worker loop's settings for one stage (leases renewed three times per lease)."""
    return Policy(
        batch_size=stage.batch_size,
        concurrency=stage.concurrency,
        lease_s=stage.lease_s,
        backoff_s=stage.backoff_s,
        backoff_max_s=stage.backoff_max_s,
        poll_s=pipeline.poll_s,
        heartbeat_s=min(5.0, stage.lease_s / 3),
        retention_s=pipeline.retention_s,
    )


def stage_worker(
    pipeline: Pipeline,
    name: str,
    predict: Execute,
    queues: StageQueues,
    metrics: PipelineMetrics,
    worker_id: str,
    beat: Callable[[WorkerState], None] | None = None,
) -> Worker:
    """The worker loop of stage `name`, reading its queue and writing the next one's."""
    following = pipeline.next_of(name)
    executor = StageExecutor(
        name, predict, metrics, (queues[following.name], following) if following else None
    )
    policy = policy_for(pipeline.stage(name), pipeline)
    return Worker(queues[name], executor, policy, worker_id, beat=beat)


def load_stage(root: Path, in_container: bool = False) -> Execute:
    """Import and set up the model of the stage project in `root` (slow: weights load here).

    `in_container`: inside an image (the entry point read it), for the spec and artifacts.
    """
    from dockyard.runtime.worker.model import load_executor

    return load_executor(load_spec(root, in_container), root, in_container=in_container)


def stage_dirs(pipeline: Pipeline, root: Path, file: str) -> dict[str, Path]:
    """Each stage's project directory; all problems (missing dirs, clashing modules) at once."""
    dirs = {s.name: (root / s.path).resolve() for s in pipeline.stages}
    problems = [
        SpecProblem(file, f"pipeline.stages.{i}.path", repr(s.path), "a directory with a spec")
        for i, s in enumerate(pipeline.stages)
        if not _has_spec(dirs[s.name])
    ]
    if problems:
        raise SpecError(problems)
    return dirs


def check_modules(dirs: Mapping[str, Path], in_container: bool = False) -> None:
    """Stages sharing one interpreter must not share a top-level module name."""
    seen: dict[str, str] = {}
    problems = []
    for name, root in dirs.items():
        module = load_spec(root, in_container).model.entrypoint.split(":")[0].split(".")[0]
        if module in seen:
            problems.append(
                SpecProblem(
                    str(root / "dockyard.toml"),
                    "model.entrypoint",
                    repr(module),
                    f"a module name other than stage {seen[module]!r}'s (one process runs both)",
                )
            )
        seen.setdefault(module, name)
    if problems:
        raise SpecError(problems)


def _has_spec(root: Path) -> bool:
    try:
        find_spec_file(root)
    except SpecError:
        return False
    return True
