"""Prometheus metrics of the API service, including the AI ones (batch size, classes, confidence).

With several server processes, prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
set by the server before workers start) makes every process write its samples to shared files,
and /metrics sums them, so the numbers add up across processes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from dockyard.runtime.drift import DriftMonitor
from dockyard.runtime.lifecycle import State

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)


def multiprocess_dir() -> str | None:
    """The shared metrics folder when the server runs several processes."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """Every metric the service exports, in its own registry (tests create many services)."""

    def __init__(self, model: str) -> None:
        # *_created series double the exposition and no dashboard uses them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        self.model = model
        r = self.registry
        self.requests = Counter(
            "dockyard_requests",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "dockyard_request_duration_seconds",
            "End-to-end request latency",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "dockyard_queue_wait_seconds",
            "Time an input waited for its batch",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.model_time = Histogram(
            "dockyard_model_duration_seconds",
            "Time of one predict(batch) call",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "dockyard_batch_size",
            "Inputs per predict(batch) call",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "dockyard_queue_depth",
            "Inputs waiting for the model",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.inflight = Gauge(
            "dockyard_inflight_requests",
            "Requests being served",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.load_seconds = Gauge(
            "dockyard_model_load_seconds",
            "Seconds setup() took",
            registry=r,
            multiprocess_mode="max",
        )
        self.canary_ok = Gauge(
            "dockyard_canary_ok",
            "1 when the golden-sample canary matched",
            registry=r,
            multiprocess_mode="min",
        )
        self.state = Gauge(
            "dockyard_state",
            "1 for the current lifecycle state",
            ["state"],
            registry=r,
            multiprocess_mode="max",
        )
        self.errors = Counter("dockyard_model_errors", "Inputs whose prediction raised", registry=r)
        self.rejected = Counter(
            "dockyard_rejected", "Inputs refused before the model", ["reason"], registry=r
        )
        self.classes = Counter(
            "dockyard_predictions", "Predictions per class (classifiers)", ["label"], registry=r
        )
        self.confidence = Histogram(
            "dockyard_prediction_confidence",
            "Confidence of classifier outputs",
            buckets=CONFIDENCE_BUCKETS,
            registry=r,
        )
        self.drift = Gauge(
            "dockyard_prediction_drift_psi",
            "Population stability index of recent predicted classes vs the first window",
            registry=r,
            multiprocess_mode="max",
        )
        self.drift_monitor = DriftMonitor()
        self.set_state(State.STARTING)

    def set_state(self, current: State) -> None:
        """Export the lifecycle enum as one gauge per state, 1 for the current one."""
        for state in State:
            self.state.labels(state.value).set(1 if state is current else 0)

    def observe_classes(self, labels: Sequence[object], confidences: Sequence[float]) -> None:
        """Record the prediction distribution of one batch of classifier outputs."""
        for label in labels:
            self.classes.labels(str(label)).inc()
        for value in confidences:
            self.confidence.observe(value)
        if labels:
            self.drift_monitor.observe(labels)
            psi = self.drift_monitor.psi()
            if psi is not None:
                self.drift.set(psi)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition; summed over processes in multiprocess mode."""
        shared = multiprocess_dir()
        if shared:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=shared)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
