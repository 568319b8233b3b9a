"""The monitoring extra of the API service: recorder, sinks, and the /feedback and /status routes.

`create_monitor` reads the spec (the app factory says where state lives) and returns a `Monitor`
that the app mounts like the jobs or pipeline extras. The hot path calls only `Monitor.record`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute, Route

from dockyard.runtime.http import answers_errors
from dockyard.runtime.monitor.baseline import (
    BASELINE_FILE,
    Baseline,
    baseline_for,
    baseline_sources,
    load_baseline,
)
from dockyard.runtime.monitor.feedback import (
    SCORES,
    Feedback,
    FeedbackMetrics,
    JobResult,
    Score,
)
from dockyard.runtime.monitor.inputdrift import DriftMetrics, InputDrift
from dockyard.runtime.monitor.payloadlog import PayloadLog
from dockyard.runtime.monitor.recorder import Codec, Recorder, Sink
from dockyard.runtime.monitor.status import StatusPage
from dockyard.runtime.monitor.store import open_store
from dockyard.runtime.service import Service
from dockyard.spec import Spec

log = logging.getLogger("dockyard.monitor")


class Monitor:
    """Everything model monitoring adds to a service; an `Extra` of the app."""

    def __init__(
        self,
        service: Service,
        recorder: Recorder | None,
        feedback: Feedback | None,
        drift: InputDrift | None,
    ) -> None:
        self.service, self.recorder = service, recorder
        self.feedback, self.drift = feedback, drift
        self.page = StatusPage(self.exposition, self.info)
        self.routes: list[BaseRoute] = [
            Route("/status", self.page.html),
            Route("/status.json", self.page.json),
        ]
        if feedback is not None:
            self.routes += [
                Route("/feedback", answers_errors(feedback.post_one), methods=["POST"]),
                Route("/feedback/batch", answers_errors(feedback.post_batch), methods=["POST"]),
            ]

    def exposition(self) -> bytes:
        """What /metrics serves right now (the status page reads the same numbers)."""
        self.service.metrics.queue_depth.set(self.service.batcher.depth)
        return self.service.metrics.exposition()[0]

    def info(self) -> dict[str, Any]:
        spec = self.service.spec
        cfg = spec.monitoring.drift
        return {
            "model": spec.model_name,
            "version": spec.model.version,
            "baseline_classes": self.baseline_classes(),
            "psi_threshold": cfg.psi_threshold,
            "window": cfg.window,
        }

    def baseline_classes(self) -> dict[str, float]:
        """The class shares of the baseline's predictions (classifiers only)."""
        runner = self.service.runner
        if self.drift is None or runner is None or runner.classifier is None:
            return {}
        label = runner.classifier[0]
        baseline = self.drift.baseline
        for feature in baseline.predictions if baseline is not None else ():
            if feature.name == label and feature.kind == "categorical":
                return dict(feature.shares)
        return {}

    def record(self, request_id: str, items: Sequence[Any], values: Sequence[Any]) -> None:
        """The hot path's hook: hand one request's predictions to the background thread."""
        if self.recorder is not None:
            self.recorder.record(request_id, items, values)

    async def startup(self) -> None:
        self.page.start()
        if self.recorder is not None:
            self.recorder.start()

    async def shutdown(self) -> None:
        await self.page.stop()
        if self.recorder is not None:
            self.recorder.stop()


def create_monitor(
    service: Service, root: Path, extras: Sequence[object] = (), in_container: bool = False
) -> Monitor:
    """Wire the sinks the spec asks for; feedback joins jobs when the jobs API is among extras.

    In a container the project is read-only: state goes to /tmp/dockyard, else to the project.
    """
    spec, metrics = service.spec, service.metrics
    cfg = spec.monitoring
    state = Path("/tmp/dockyard") if in_container else root / ".dockyard" / "monitor"
    sinks: list[Sink] = []
    feedback = drift = None
    if cfg.feedback.enabled:
        # The jobs API is among extras only with workers: others skip importing it (~20 ms).
        jobs = _job_results(extras) if spec.worker.enabled else None
        feedback = _feedback(service, state, jobs)
        sinks.append(feedback)
    if cfg.drift.enabled and (baseline := _baseline(spec, root)) is not None:
        metrics_ = DriftMetrics(metrics.registry)
        drift = InputDrift(baseline, cfg.drift.window, metrics_, cfg.drift.max_per_s)
        sinks.append(drift)
    if cfg.payload_log.enabled:
        p = cfg.payload_log
        path = None if p.stdout else _path(root, p.path, state / "payloads.jsonl")
        sinks.append(PayloadLog(path, p.max_bytes, p.backups, p.redact, p.sample,
                                spec.model_name, spec.model.version))  # fmt: skip
    recorder = None
    if sinks:
        sig = service.signature
        dropped = feedback.metrics.dropped if feedback else None
        codec = Codec(
            lambda item: sig.inputs.dump_python(item, mode="json"),
            lambda value: sig.outputs.dump_python(value, mode="json"),
            sig.outputs.dump_json,
        )
        recorder = Recorder(
            sinks,
            codec,
            bound=cfg.feedback.queue_size,
            sample=cfg.feedback.sample,
            on_drop=(lambda n: dropped.inc(n)) if dropped else (lambda n: None),
        )
    return Monitor(service, recorder, feedback, drift)


def _path(root: Path, given: str | None, default: Path) -> Path:
    return root / given if given else default


def _job_results(extras: Sequence[object]) -> JobResult | None:
    """Look finished jobs up in the jobs API's queue (their results are the predictions)."""
    from dockyard.runtime.jobs_api import JobsService
    from dockyard.runtime.queue import JobState

    jobs = next((e for e in extras if isinstance(e, JobsService)), None)
    if jobs is None:
        return None

    def result(job_id: str) -> tuple[Any, float] | None:
        job = jobs.queue.get(job_id)
        if job is None or job.state is not JobState.DONE:
            return None
        return job.result, job.finished_at or job.updated_at

    return result


def _feedback(service: Service, state: Path, job_result: JobResult | None) -> Feedback:
    spec, cfg = service.spec, service.spec.monitoring.feedback
    kind = cfg.store
    if kind == "auto":
        kind = "redis" if spec.worker.enabled and spec.worker.backend == "redis" else "sqlite"
    where = (
        cfg.redis_url or spec.worker.redis_url
        if kind == "redis"
        else str(_path(service.root, cfg.path, state / "predictions.sqlite"))
    )
    store = open_store(kind, where, cfg.retention_s, cfg.max_predictions, spec.model_name)
    name, score = _score(service, cfg.metric, spec.gate.metric)
    field = cfg.field if cfg.field is not None else spec.gate.field
    fields = service.signature.output_type
    if not hasattr(fields, "model_fields") and not hasattr(fields, "__annotations__"):
        field = None  # a plain output (a number, a string) is scored whole
    metrics = FeedbackMetrics(service.metrics.registry)
    version = spec.model.version
    return Feedback(store, metrics, version, name, score, field, cfg.window, job_result)


def _score(service: Service, metric: str, gate_metric: str) -> tuple[str, Score]:
    """The scoring function: the model's own `feedback_metric`, or a built-in one."""
    custom = getattr(service.model_cls, "feedback_metric", None)
    if metric == "custom" or (metric == "auto" and custom is not None):
        if custom is None:
            raise ValueError(
                "monitoring.feedback.metric = 'custom' needs a feedback_metric(outputs, truths)"
                f" static method on {service.model_cls.__name__}"
            )
        return "custom", custom
    name = gate_metric if metric == "auto" else metric
    return name, SCORES[name]


def _baseline(spec: Spec, root: Path) -> Baseline | Callable[[], Baseline | None] | None:
    """The baseline written at build; else, where the project has eval or golden data, a loader
    that computes it from them (run off the start-up path, see InputDrift)."""
    path = root / (spec.monitoring.drift.baseline or BASELINE_FILE)
    if path.is_file():
        baseline = load_baseline(path)
        if baseline.spec_sha256 != spec.digest():
            log.warning(
                "drift baseline was built from another spec; run `dockyard monitor` to refresh",
                extra={"baseline": str(path)},
            )
        return baseline
    if not baseline_sources(spec, root):
        return None
    return partial(baseline_for, spec, root)
