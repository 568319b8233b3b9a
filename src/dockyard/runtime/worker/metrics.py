"""Prometheus metrics of a worker process, in a registry of its own (served on its own port).

A worker has no HTTP server of its own, so it starts prometheus-client's small one on
`worker.metrics_port`: Prometheus scrapes every container the same way, with no node-exporter
textfile collector to deploy beside it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from dockyard.runtime.queue import JobState, QueueStats

if TYPE_CHECKING:  # the health check imports this module: keep the auth layer off its path
    from dockyard.runtime.auth.config import AuthConfig

log = logging.getLogger("dockyard.worker")

LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
ATTEMPT_BUCKETS = (1, 2, 3, 5, 10, 20)


class WorkerMetrics:
    """Queue depth per state, job latency, attempts, outcomes, batch sizes, heartbeat age."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.depth = Gauge("dockyard_jobs", "Jobs in the queue per state", ["state"], registry=r)
        self.outcomes = Counter(
            "dockyard_jobs_outcomes",
            "What happened to each executed job: done, retried, dead, "
            "stale (a result discarded because the lease was lost)",
            ["outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "dockyard_job_latency_seconds",
            "Submission to final result",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.attempts = Histogram(
            "dockyard_job_attempts",
            "Attempts a job took to finish",
            buckets=ATTEMPT_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "dockyard_worker_batch_size", "Jobs per predict call", buckets=BATCH_BUCKETS, registry=r
        )
        self.webhook_pending = Gauge(
            "dockyard_webhooks_pending", "Webhooks awaiting delivery", registry=r
        )
        self.last_heartbeat = time.time()
        Gauge(
            "dockyard_worker_heartbeat_age_seconds",
            "Seconds since this worker renewed its leases",
            registry=r,
        ).set_function(lambda: time.time() - self.last_heartbeat)

    def observe_queue(self, stats: QueueStats) -> None:
        """Copy a stats snapshot into the depth gauges."""
        for state in JobState:
            self.depth.labels(state.value).set(stats.count(state))
        self.webhook_pending.set(stats.webhooks_pending)

    def serve(self, port: int, auth: AuthConfig | None = None) -> None:
        """Expose /metrics on `port` (0 = not at all); a taken port is logged, not fatal.

        With `auth` keys on, a scrape needs a key with the `metrics` scope.
        """
        if port == 0:
            return
        from dockyard.runtime.auth.config import AuthConfig
        from dockyard.runtime.auth.wsgi import serve_metrics

        try:
            serve_metrics(self.registry, port, auth or AuthConfig(None))
        except OSError as exc:
            log.warning("metrics server not started", extra={"port": port, "error": str(exc)})
