"""Prometheus series of the scheduler: outcomes (failures included), durations, what runs."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)


class ScheduleMetrics:
    """Per-job series in a registry of their own (the scheduler serves them on its port)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "dockyard_schedule_runs",
            "Finished or skipped runs by outcome: succeeded, failed, skipped",
            ["job", "outcome"],
            registry=r,
        )
        self.duration = Histogram(
            "dockyard_schedule_run_seconds",
            "Wall time of a run",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.running = Gauge("dockyard_schedule_running", "Runs in progress", ["job"], registry=r)
        self.last_success = Gauge(
            "dockyard_schedule_last_success_timestamp_seconds",
            "When the job last succeeded (alert on its age)",
            ["job"],
            registry=r,
        )
        self.next_run = Gauge(
            "dockyard_schedule_next_run_timestamp_seconds",
            "When the job is next due",
            ["job"],
            registry=r,
        )
